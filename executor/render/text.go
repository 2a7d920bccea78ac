package render

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/runbook-dev/runbook/executor/plan"
	"github.com/zclconf/go-cty/cty"
)

// Options are the caller's choices for text output.
type Options struct {
	// Color enables ANSI colour.
	Color bool
}

// colors colours symbols and notes which symbols the output used, for
// the legend.
type colors struct {
	on   bool
	used map[string]bool
}

func (c colors) use(sym string) {
	if c.used != nil {
		c.used[sym] = true
	}
}

func (c colors) wrap(code, s string) string {
	if !c.on {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

func (c colors) symbol(a plan.Action) string {
	s := string(rune(a))
	if a != plan.NoOp {
		c.use(s)
	}
	switch a {
	case plan.Create:
		return c.wrap("32", s)
	case plan.Update:
		return c.wrap("33", s)
	case plan.Run:
		return c.wrap("36", s)
	case plan.Skip:
		return c.wrap("31", s)
	}
	return " "
}

func (c colors) bold(s string) string { return c.wrap("1", s) }

// Text writes the plan as a human reads it, in Terraform's style: the
// warnings first, each step's change with the checks it failed, the checks,
// the summary line and a legend of the symbols used.
func Text(w io.Writer, p *plan.Plan, o Options) error {
	var b strings.Builder
	c := colors{on: o.Color, used: map[string]bool{}}
	for _, wmsg := range p.Warnings {
		fmt.Fprintf(&b, "%s %s\n", c.wrap("33", "Warning:"), wmsg)
	}
	if len(p.Warnings) > 0 {
		b.WriteString("\n")
	}
	changing := 0
	for _, ch := range p.Changes {
		if ch.Action.Changes() {
			changing++
		}
	}
	if changing > 0 {
		b.WriteString("runbook will perform the following actions:\n\n")
	} else {
		b.WriteString("No changes. The stamp already matches the runbook.\n\n")
	}
	for _, ch := range p.Changes {
		writeChange(&b, c, ch, failedAt(p, ch.Address))
	}
	for _, chk := range p.Checks {
		writeCheck(&b, c, chk)
	}
	if len(p.Checks) > 0 {
		b.WriteString("\n")
	}
	b.WriteString(c.bold(SummaryLine(p)))
	b.WriteString("\n")
	if l := legend(c.used); l != "" {
		b.WriteString(l + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeCheck writes one check's line.
func writeCheck(b *strings.Builder, c colors, chk plan.Check) {
	switch chk.Result {
	case plan.CheckFailed:
		c.use("✗")
		fmt.Fprintf(b, "  %s %s failed: %s\n", c.wrap("31", "✗"), chk.Address, chk.Message)
	case plan.CheckDeferred:
		c.use("?")
		fmt.Fprintf(b, "  ? %s will be checked after apply\n", chk.Address)
	default:
		c.use("✓")
		fmt.Fprintf(b, "  %s %s passed\n", c.wrap("32", "✓"), chk.Address)
	}
}

// failedAt returns the failed checks that judge the step at address.
func failedAt(p *plan.Plan, address string) []plan.Check {
	var out []plan.Check
	for _, chk := range p.FailedChecks() {
		for _, s := range chk.Steps {
			if s == address {
				out = append(out, chk)
				break
			}
		}
	}
	return out
}

// legendOrder is the order of the legend and what each symbol means.
var legendOrder = []struct{ sym, meaning string }{
	{"+", "added"},
	{"~", "changed"},
	{"!", "an action runs"},
	{"-", "skipped or removed"},
	{"✓", "check passed"},
	{"✗", "check failed"},
	{"?", "checked after apply"},
}

// legend is the line that explains the symbols the plan used, or "".
func legend(used map[string]bool) string {
	var parts []string
	for _, l := range legendOrder {
		if used[l.sym] {
			parts = append(parts, l.sym+" "+l.meaning)
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "Legend: " + strings.Join(parts, ", ") + "."
}

func writeChange(b *strings.Builder, c colors, ch *plan.Change, failed []plan.Check) {
	switch ch.Action {
	case plan.NoOp:
		reason := ""
		if ch.Reason != "" {
			reason = ": " + ch.Reason
		}
		fmt.Fprintf(b, "  # %s (%s) has no changes%s\n", ch.Address, ch.Type, reason)
		writeFailed(b, c, failed)
		b.WriteString("\n")
		return
	case plan.Skip:
		reason := ""
		if ch.Reason != "" {
			reason = " (" + ch.Reason + ")"
		}
		fmt.Fprintf(b, "  %s %s (%s) will be skipped%s\n", c.symbol(plan.Skip), ch.Address, ch.Type, reason)
		writeFailed(b, c, failed)
		b.WriteString("\n")
		return
	}
	fmt.Fprintf(b, "  # %s (%s) will %s\n", c.bold(ch.Address), ch.Type, ch.Summary)
	if ch.Reason != "" {
		fmt.Fprintf(b, "  # (%s)\n", ch.Reason)
	}
	fmt.Fprintf(b, "  %s %s %q {\n", c.symbol(ch.Action), ch.Type, ch.Name)
	writeAttrs(b, c, attrs(ch.Before), attrs(ch.After), 8)
	b.WriteString("    }\n")
	writeFailed(b, c, failed)
	b.WriteString("\n")
}

// writeFailed marks the failed checks under the step they judge.
func writeFailed(b *strings.Builder, c colors, failed []plan.Check) {
	for _, chk := range failed {
		c.use("✗")
		fmt.Fprintf(b, "    %s %s failed here: %s\n", c.wrap("31", "✗"), chk.Address, chk.Message)
	}
}

// writeAttrs writes the attribute diff of two objects at an indent; the
// symbol column sits two spaces left of the names.
func writeAttrs(b *strings.Builder, c colors, before, after map[string]cty.Value, indent int) {
	keys := sortedKeys(before, after)
	width := 0
	for _, k := range keys {
		if len(k) > width {
			width = len(k)
		}
	}
	pad := strings.Repeat(" ", indent-2)
	for _, k := range keys {
		bv, av := before[k], after[k]
		bAbs, aAbs := isAbsent(bv), isAbsent(av)
		name := k + strings.Repeat(" ", width-len(k))
		switch {
		case bAbs && aAbs:
			continue
		case isBlock(bv) || isBlock(av):
			sym := " "
			switch {
			case bAbs:
				sym = c.symbol(plan.Create)
			case aAbs:
				c.use("-")
				sym = c.wrap("31", "-")
			case !bv.RawEquals(av):
				sym = c.symbol(plan.Update)
			}
			fmt.Fprintf(b, "%s%s %s = {\n", pad, sym, name)
			writeAttrs(b, c, attrs(bv), attrs(av), indent+4)
			fmt.Fprintf(b, "%s  }\n", pad)
		case bAbs:
			s, _ := valueString(av)
			fmt.Fprintf(b, "%s%s %s = %s\n", pad, c.symbol(plan.Create), name, s)
		case aAbs:
			s, _ := valueString(bv)
			c.use("-")
			fmt.Fprintf(b, "%s%s %s = %s\n", pad, c.wrap("31", "-"), name, s)
		default:
			bs, _ := valueString(bv)
			as, _ := valueString(av)
			if bv.RawEquals(av) || bs == as {
				fmt.Fprintf(b, "%s  %s = %s\n", pad, name, as)
				continue
			}
			fmt.Fprintf(b, "%s%s %s = %s -> %s\n", pad, c.symbol(plan.Update), name, bs, as)
		}
	}
}

// SummaryLine is the closing line of a plan: the counts and the window fit.
func SummaryLine(p *plan.Plan) string {
	n := p.Counts()
	changing := n[plan.Create] + n[plan.Update] + n[plan.Run]
	steps := "steps"
	if changing == 1 {
		steps = "step"
	}
	s := fmt.Sprintf("Plan: %d %s will run, %d unchanged", changing, steps, n[plan.NoOp])
	if n[plan.Skip] > 0 {
		s += fmt.Sprintf(", %d skipped", n[plan.Skip])
	}
	s += "."
	if changing > 0 {
		s += " Critical path " + Duration(p.CriticalPath) + "."
	}
	if w := p.Window; w != nil {
		s += " " + WindowLine(w, p.CriticalPath)
	}
	return s
}

// WindowLine describes how the run fits its window.
func WindowLine(w *plan.WindowFit, critical time.Duration) string {
	if w.Open.IsZero() {
		return fmt.Sprintf("Window %q has closed: apply will not start.", w.Name)
	}
	loc := w.Open.Location()
	span := fmt.Sprintf("%s–%s %s", w.Open.Format("Mon 15:04"), w.Close.In(loc).Format("Mon 15:04"), zoneName(w.Open))
	state := "opens " + w.Open.Format("2006-01-02")
	if w.OpenNow {
		state = "open now"
	}
	if w.Fits {
		return fmt.Sprintf("Window %q %s (%s): fits with %s to spare.", w.Name, span, state, Duration(w.Spare))
	}
	return fmt.Sprintf("Window %q %s (%s): does NOT fit, %s short.", w.Name, span, state, Duration(-w.Spare))
}

func zoneName(t time.Time) string {
	name, _ := t.Zone()
	return name
}
