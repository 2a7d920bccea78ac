package render

import (
	"fmt"
	"io"
	"strings"

	"github.com/runbook-dev/runbook/executor/plan"
)

// Markdown writes the plan for a pull-request comment: a summary, a table
// of steps, the checks, and the full diff in a fenced block. Everything
// taken from the plan is escaped, so a value cannot break out of a table
// cell or inject HTML.
func Markdown(w io.Writer, p *plan.Plan) error {
	var b strings.Builder
	title := "runbook plan"
	if p.Runbook.Description != "" {
		title += ": " + p.Runbook.Description
	}
	fmt.Fprintf(&b, "### %s\n\n", cell(title))
	fmt.Fprintf(&b, "**%s**\n\n", cell(SummaryLine(p)))
	if len(p.Changes) > 0 {
		b.WriteString("| Step | Type | Action | What |\n| --- | --- | --- | --- |\n")
		for _, c := range p.Changes {
			what := c.Summary
			if c.Action == plan.NoOp || c.Action == plan.Skip {
				what = c.Reason
			}
			fmt.Fprintf(&b, "| `%s` | %s | `%c` %s | %s |\n", code(c.Address), cell(c.Type), rune(c.Action), c.Action, cell(what))
		}
		b.WriteString("\n")
	}
	if len(p.Checks) > 0 {
		b.WriteString("| Check | Result | Message |\n| --- | --- | --- |\n")
		for _, c := range p.Checks {
			fmt.Fprintf(&b, "| `%s` | %s | %s |\n", code(c.Address), c.Result, cell(c.Message))
		}
		b.WriteString("\n")
	}
	for _, wmsg := range p.Warnings {
		fmt.Fprintf(&b, "> **Warning:** %s\n\n", cell(wmsg))
	}
	var text strings.Builder
	if err := Text(&text, p, Options{}); err != nil {
		return err
	}
	fence := "```"
	for strings.Contains(text.String(), fence) {
		fence += "`"
	}
	fmt.Fprintf(&b, "<details><summary>Full plan</summary>\n\n%stext\n%s%s\n\n</details>\n", fence, text.String(), fence)
	_, err := io.WriteString(w, b.String())
	return err
}

// cell escapes text for a Markdown table cell or paragraph.
func cell(s string) string {
	r := strings.NewReplacer(
		"\\", "\\\\", "|", "\\|", "<", "&lt;", ">", "&gt;", "&", "&amp;",
		"`", "\\`", "*", "\\*", "_", "\\_", "[", "\\[", "]", "\\]", "\n", " ", "\r", " ",
	)
	return r.Replace(s)
}

// code escapes text for an inline code span.
func code(s string) string {
	return strings.NewReplacer("`", "'", "|", "\\|", "\n", " ").Replace(s)
}
