package expiry

import (
	"fmt"
	"strings"
	"time"

	"github.com/runbook-dev/runbook/executor/plan"
)

// DefaultHorizon is how far ahead plans and expiry look: the stamp's own
// warning alerts start 90 days before an expiry.
const DefaultHorizon = 90 * 24 * time.Hour

// PlanWarnings returns what a reviewer must know about expiry before
// approving p, given the secrets read at plan time (with RotatedBy filled
// in by Cover):
//
//   - a secret that a step of the plan will rotate, but that expires before
//     the change window opens, or before the rotation can finish (the
//     window's opening, or now, plus the expected durations of the steps up
//     to the last one that rotates it): the stamp runs on an expired secret
//     in between;
//   - a secret that expires within horizon and that no step of the runbook
//     rotates.
//
// The warnings are sorted by the secrets' deadlines.
func PlanWarnings(p *plan.Plan, secrets []Secret, now time.Time, horizon time.Duration) []string {
	start, window := now, ""
	if w := p.Window; w != nil && !w.Open.IsZero() && !w.OpenNow && w.Open.After(now) {
		start, window = w.Open, w.Name
	}
	finish := finishTimes(p)
	sorted := append([]Secret(nil), secrets...)
	Sort(sorted)
	var out []string
	for _, s := range sorted {
		name := fmt.Sprintf("%s (%s %s)", s.What, s.Block, s.Where)
		when := describeExpiry(s, now)
		var steps []string
		var done time.Duration
		for _, addr := range s.RotatedBy {
			if c := p.Change(addr); c != nil && c.Action.Changes() {
				steps = append(steps, addr)
				done = max(done, finish[addr])
			}
		}
		switch {
		case len(steps) > 0 && window != "" && s.Expires.Before(start):
			out = append(out, fmt.Sprintf("%s %s, before the change window %q opens at %s: %s will rotate it only then, and the stamp runs on an expired secret until it does.",
				name, when, window, start.UTC().Format("2006-01-02 15:04 MST"), strings.Join(steps, ", ")))
		case len(steps) > 0 && s.Expires.Before(start.Add(done)):
			out = append(out, fmt.Sprintf("%s %s, before %s can finish rotating it (expected by %s).",
				name, when, strings.Join(steps, ", "), start.Add(done).UTC().Format("2006-01-02 15:04 MST")))
		case len(s.RotatedBy) == 0 && s.Expires.Before(now.Add(horizon)):
			out = append(out, fmt.Sprintf("%s %s, and no step of this runbook rotates it.", name, when))
		}
	}
	return out
}

// describeExpiry says when a secret expires, and from what source.
func describeExpiry(s Secret, now time.Time) string {
	date := s.Expires.UTC().Format("2006-01-02")
	days := s.DaysLeft(now)
	// An alert speaks of a kind of secrets ("external certificates").
	expires, expired := "expires", "expired"
	if s.Source == SourceAlert {
		expires = "expire"
	}
	switch {
	case !s.Exact:
		return fmt.Sprintf("%s by %s at the latest (%s)", expires, date, s.Source)
	case days < 0:
		return fmt.Sprintf("%s on %s (%d days ago, %s)", expired, date, -days, s.Source)
	case days == 0:
		return fmt.Sprintf("%s on %s (within a day, %s)", expires, date, s.Source)
	case days == 1:
		return fmt.Sprintf("%s on %s (in 1 day, %s)", expires, date, s.Source)
	}
	return fmt.Sprintf("%s on %s (in %d days, %s)", expires, date, days, s.Source)
}

// finishTimes returns, for each step that changes something, how long
// after the run starts it is expected to finish: the latest finish of the
// steps it depends on plus its own expected duration. Changes are in
// dependency order.
func finishTimes(p *plan.Plan) map[string]time.Duration {
	out := map[string]time.Duration{}
	for _, c := range p.Changes {
		var begin time.Duration
		for _, d := range c.DependsOn {
			begin = max(begin, out[d])
		}
		if c.Action.Changes() {
			begin += c.ExpectedDuration
		}
		out[c.Address] = begin
	}
	return out
}
