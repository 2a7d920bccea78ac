package render

import (
	"fmt"
	"io"
	"strings"

	"github.com/runbook-dev/runbook/executor/plan"
)

// Markdown writes the plan for a pull-request comment: the warnings, a
// summary, where the plan was made against (endpoints, plan id, validity,
// file hashes, where each input came from, never its value), a table of
// steps with the checks each failed, the checks, and the full diff in a
// fenced block. Everything taken from the plan is escaped, so a value cannot
// break out of a table cell or inject HTML.
func Markdown(w io.Writer, p *plan.Plan) error {
	var b strings.Builder
	title := "runbook plan"
	if p.Runbook.Description != "" {
		title += ": " + Printable(p.Runbook.Description)
	}
	fmt.Fprintf(&b, "### %s\n\n", cell(title))
	for _, wmsg := range p.Warnings {
		fmt.Fprintf(&b, "> **Warning:** %s\n\n", cell(wmsg))
	}
	fmt.Fprintf(&b, "**%s**\n\n", cell(SummaryLine(p)))
	writeMarkdownHeader(&b, p)
	if len(p.Changes) > 0 {
		b.WriteString("| Step | Type | Action | What |\n| --- | --- | --- | --- |\n")
		for _, c := range p.Changes {
			what := c.Summary
			if c.Action == plan.NoOp || c.Action == plan.Skip {
				what = c.Reason
			} else if c.Reason != "" {
				what += " (" + c.Reason + ")"
			}
			what = cell(what)
			for _, chk := range failedAt(p, c.Address) {
				what += fmt.Sprintf(" **✗ `%s` failed**", code(chk.Address))
			}
			fmt.Fprintf(&b, "| `%s` | %s | `%c` %s | %s |\n", code(c.Address), cell(c.Type), rune(c.Action), c.Action, what)
		}
		b.WriteString("\n")
	}
	if len(p.Checks) > 0 {
		b.WriteString("| Check | Result | Message |\n| --- | --- | --- |\n")
		for _, c := range p.Checks {
			result := c.Result
			if result == plan.CheckFailed {
				result = "**✗ failed**"
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s |\n", code(c.Address), result, cell(c.Message))
		}
		b.WriteString("\n")
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

// writeMarkdownHeader writes what a reviewer checks the plan against: the
// plan's identity and validity, the endpoints, the files and the inputs'
// sources.
func writeMarkdownHeader(b *strings.Builder, p *plan.Plan) {
	const ts = "2006-01-02 15:04 MST"
	b.WriteString("| Plan | |\n| --- | --- |\n")
	fmt.Fprintf(b, "| Plan id | `%s` |\n", code(p.ID))
	fmt.Fprintf(b, "| Created | %s |\n", p.CreatedAt.UTC().Format(ts))
	fmt.Fprintf(b, "| Valid until | %s |\n", p.ExpiresAt.UTC().Format(ts))
	if p.Runbook.Dir != "" {
		fmt.Fprintf(b, "| Runbook | `%s` |\n", code(p.Runbook.Dir))
	}
	if p.Runbook.Owner != "" {
		fmt.Fprintf(b, "| Owner | %s |\n", cell(p.Runbook.Owner))
	}
	for _, e := range p.Runbook.Endpoints {
		fmt.Fprintf(b, "| `%s` | %s |\n", code(e.Block), cell(e.Address))
	}
	if len(p.Targets) > 0 {
		fmt.Fprintf(b, "| Targets | `%s` |\n", code(strings.Join(p.Targets, ", ")))
	}
	b.WriteString("\n")
	if len(p.Runbook.Files) > 0 {
		b.WriteString("| File | SHA-256 |\n| --- | --- |\n")
		for _, f := range p.Runbook.Files {
			fmt.Fprintf(b, "| `%s` | `%s` |\n", code(f.Name), code(f.SHA256))
		}
		b.WriteString("\n")
	}
	if len(p.Inputs) > 0 {
		b.WriteString("| Input | Source | Sensitive |\n| --- | --- | --- |\n")
		for _, in := range p.Inputs {
			sens := "no"
			if in.Sensitive {
				sens = "yes (fingerprint only)"
			}
			src := in.Source
			if src == "" {
				src = "unknown"
			}
			fmt.Fprintf(b, "| `var.%s` | %s | %s |\n", code(in.Name), cell(src), sens)
		}
		b.WriteString("\n")
	}
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
