package lang

import (
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// Window is a change window: steps may only start while one is open, and
// only if they (and the critical path behind them) fit before it closes.
//
// A window is either one-off (start, duration) or recurring (every,
// timezone, duration), e.g. every = "saturday 22:00".
type Window struct {
	Name string
	// Start is the opening of a one-off window.
	Start time.Time
	// Every is the recurrence: a weekday or "day", and a time of day.
	Every string
	// Location is the time zone of a recurring window (UTC by default).
	Location *time.Location
	Duration time.Duration
	// Description is shown in plans.
	Description string
	DeclRange   hcl.Range

	weekday  time.Weekday
	daily    bool
	hour     int
	minute   int
	body     hcl.Body
	resolved bool
}

var windowSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "start"}, {Name: "every"}, {Name: "timezone"}, {Name: "duration", Required: true}, {Name: "description"},
	},
}

func decodeWindow(block *hcl.Block) (*Window, hcl.Diagnostics) {
	w := &Window{Name: block.Labels[0], DeclRange: block.DefRange, body: block.Body, Location: time.UTC}
	_, diags := block.Body.Content(windowSchema)
	return w, diags
}

func (rb *Runbook) evalWindows() hcl.Diagnostics {
	var diags hcl.Diagnostics
	ctx := rb.evalContext(nil)
	for _, name := range sortedKeys(rb.Windows) {
		diags = append(diags, rb.Windows[name].eval(ctx)...)
	}
	return diags
}

func (w *Window) eval(ctx *hcl.EvalContext) hcl.Diagnostics {
	// decode reported what is wrong with the body's shape (unknown or
	// missing arguments); evaluate what is there without repeating it.
	content, _ := w.body.Content(windowSchema)
	var diags hcl.Diagnostics
	at := attrEvaluator{ctx: ctx}
	start, every, tz := content.Attributes["start"], content.Attributes["every"], content.Attributes["timezone"]
	w.Description = at.str(content.Attributes["description"])
	d, ok, ddiags := evalDuration(ctx, content.Attributes["duration"])
	at.diags = append(at.diags, ddiags...)
	if ok {
		w.Duration = d
	}
	switch {
	case start != nil && every != nil:
		at.diags = append(at.diags, &hcl.Diagnostic{
			Severity: hcl.DiagError, Summary: "Conflicting window arguments",
			Detail:  "A window has either a start (one-off) or every (recurring), not both.",
			Subject: every.Range.Ptr(),
		})
	case start == nil && every == nil:
		at.diags = append(at.diags, &hcl.Diagnostic{
			Severity: hcl.DiagError, Summary: "Window without a start",
			Detail:  `Give the window a start = "2026-11-28T22:00:00Z" (RFC 3339) or a recurrence such as every = "saturday 22:00".`,
			Subject: w.DeclRange.Ptr(),
		})
	case start != nil:
		if tz != nil {
			at.diags = append(at.diags, &hcl.Diagnostic{
				Severity: hcl.DiagError, Summary: "Unneeded timezone",
				Detail:  "An RFC 3339 start carries its own offset; timezone is only for recurring windows.",
				Subject: tz.Range.Ptr(),
			})
		}
		s := at.str(start)
		if at.known(start) {
			t, err := time.Parse(time.RFC3339, s)
			if err != nil {
				at.diags = append(at.diags, &hcl.Diagnostic{
					Severity: hcl.DiagError, Summary: "Invalid window start",
					Detail:  fmt.Sprintf("%q is not an RFC 3339 time; write it like \"2026-11-28T22:00:00Z\" or \"2026-11-28T23:00:00+01:00\".", s),
					Subject: start.Expr.Range().Ptr(),
				})
			} else {
				w.Start, w.resolved = t, true
			}
		}
	default:
		if tz != nil && at.known(tz) {
			name := at.str(tz)
			loc, err := time.LoadLocation(name)
			if err != nil {
				at.diags = append(at.diags, &hcl.Diagnostic{
					Severity: hcl.DiagError, Summary: "Unknown time zone",
					Detail:  fmt.Sprintf("%q is not an IANA time zone name such as \"UTC\" or \"Europe/Berlin\".", name),
					Subject: tz.Expr.Range().Ptr(),
				})
			} else {
				w.Location = loc
			}
		}
		if at.known(every) {
			w.Every = at.str(every)
			if err := w.parseEvery(); err != nil {
				at.diags = append(at.diags, &hcl.Diagnostic{
					Severity: hcl.DiagError, Summary: "Invalid window recurrence",
					Detail:  err.Error(),
					Subject: every.Expr.Range().Ptr(),
				})
			} else {
				w.resolved = true
			}
		}
	}
	if ok && w.Every != "" && w.daily && w.Duration > 24*time.Hour || ok && w.Every != "" && w.Duration > 7*24*time.Hour {
		at.diags = append(at.diags, &hcl.Diagnostic{
			Severity: hcl.DiagError, Summary: "Window longer than its period",
			Detail:  "A recurring window must close before it opens again.",
			Subject: content.Attributes["duration"].Expr.Range().Ptr(),
		})
	}
	return append(diags, at.diags...)
}

var weekdays = map[string]time.Weekday{
	"sunday": time.Sunday, "monday": time.Monday, "tuesday": time.Tuesday, "wednesday": time.Wednesday,
	"thursday": time.Thursday, "friday": time.Friday, "saturday": time.Saturday,
}

func (w *Window) parseEvery() error {
	day, clock, ok := strings.Cut(strings.TrimSpace(strings.ToLower(w.Every)), " ")
	bad := fmt.Errorf("%q is not a recurrence; write a weekday or \"day\" and a time of day, such as \"saturday 22:00\" or \"day 01:30\"", w.Every)
	if !ok {
		return bad
	}
	if day == "day" || day == "daily" {
		w.daily = true
	} else if wd, ok := weekdays[day]; ok {
		w.weekday = wd
	} else {
		names := append(sortedKeys(weekdays), "day")
		return fmt.Errorf("%q is not a weekday; use one of %s.%s", day, strings.Join(names, ", "), didYouMean(day, names))
	}
	t, err := time.Parse("15:04", strings.TrimSpace(clock))
	if err != nil {
		return bad
	}
	w.hour, w.minute = t.Hour(), t.Minute()
	return nil
}

// Resolved reports whether the window's times are known (they may not be in
// validate mode, when they come from unset variables).
func (w *Window) Resolved() bool { return w.resolved && w.Duration > 0 }

// Occurrence returns the opening and closing of the window that is open at
// t or, if none is, of the next one to open after t. ok is false when the
// window never opens again (a one-off window that has closed).
func (w *Window) Occurrence(t time.Time) (open, close time.Time, ok bool) {
	if !w.Resolved() {
		return time.Time{}, time.Time{}, false
	}
	if w.Every == "" {
		end := w.Start.Add(w.Duration)
		if !t.Before(end) {
			return time.Time{}, time.Time{}, false
		}
		return w.Start, end, true
	}
	lt := t.In(w.Location)
	// Start from the latest opening at or before t.
	o := time.Date(lt.Year(), lt.Month(), lt.Day(), w.hour, w.minute, 0, 0, w.Location)
	if !w.daily {
		back := (int(o.Weekday()) - int(w.weekday) + 7) % 7
		o = o.AddDate(0, 0, -back)
	}
	if o.After(lt) {
		if w.daily {
			o = o.AddDate(0, 0, -1)
		} else {
			o = o.AddDate(0, 0, -7)
		}
	}
	if lt.Before(o.Add(w.Duration)) {
		return o, o.Add(w.Duration), true
	}
	if w.daily {
		o = o.AddDate(0, 0, 1)
	} else {
		o = o.AddDate(0, 0, 7)
	}
	return o, o.Add(w.Duration), true
}

// IsOpen reports whether the window is open at t, and when it closes.
func (w *Window) IsOpen(t time.Time) (bool, time.Time) {
	open, close, ok := w.Occurrence(t)
	if !ok || t.Before(open) {
		return false, time.Time{}
	}
	return true, close
}
