package executor

import (
	"encoding/json"
	"time"

	"github.com/runbook-dev/runbook/executor/plan"
)

// EventFormatVersion is the version of the event stream that `runbook apply
// -json` writes (docs/apply-events.md, docs/apply-events.schema.json): one
// JSON object a line, the first a "version" event carrying this. Readers
// ignore keys they do not know within a major version.
const EventFormatVersion = "1.0"

// MarshalJSON writes the event as a line of the event stream: keys in
// snake_case, durations in seconds, and no percent when it is not known
// (rather than a -1 sentinel).
func (ev Event) MarshalJSON() ([]byte, error) {
	out := struct {
		Type             EventType `json:"type"`
		Time             time.Time `json:"time"`
		Step             string    `json:"step,omitempty"`
		Attempt          int       `json:"attempt,omitempty"`
		Percent          *float64  `json:"percent,omitempty"`
		Message          string    `json:"message,omitempty"`
		ElapsedSeconds   *float64  `json:"elapsed_seconds,omitempty"`
		RemainingSeconds *float64  `json:"remaining_seconds,omitempty"`
	}{Type: ev.Type, Time: ev.Time.UTC(), Step: ev.Step, Attempt: ev.Attempt, Message: ev.Message}
	if ev.Percent >= 0 && (ev.Percent > 0 || ev.Type == EventProgress) {
		p := ev.Percent
		out.Percent = &p
	}
	if ev.Elapsed > 0 {
		s := plan.Seconds(ev.Elapsed)
		out.ElapsedSeconds = &s
	}
	if ev.Remaining > 0 {
		s := plan.Seconds(ev.Remaining)
		out.RemainingSeconds = &s
	}
	return json.Marshal(out)
}
