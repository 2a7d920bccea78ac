package state_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/runbook-dev/runbook/addrs"
	"github.com/runbook-dev/runbook/executor/journal"
	"github.com/runbook-dev/runbook/state"
	"github.com/runbook-dev/runbook/state/local"
)

func TestSettle(t *testing.T) {
	at := func(m int) time.Time { return time.Date(2026, 12, 1, 0, m, 0, 0, time.UTC) }
	ok := func(m int, v string) *journal.Step {
		return &journal.Step{Status: journal.Succeeded, Updated: at(m), Result: map[string]string{"fingerprint": v}}
	}
	tests := []struct {
		name string
		runs []*journal.Run
		want map[string]string // step address -> fingerprint in Steps
	}{
		{"a finished run's successes", []*journal.Run{
			{ID: "r1", Status: journal.RunSucceeded, Steps: map[string]*journal.Step{"step.bmc": ok(1, "a"), "step.x": {Status: journal.Failed, Updated: at(2)}}},
		}, map[string]string{"step.bmc": "a"}},
		{"a later success wins, whatever the order settled", []*journal.Run{
			{ID: "r2", Status: journal.RunSucceeded, Steps: map[string]*journal.Step{"step.bmc": ok(5, "new")}},
			{ID: "r1", Status: journal.RunFailed, Steps: map[string]*journal.Step{"step.bmc": ok(1, "old")}},
		}, map[string]string{"step.bmc": "new"}},
		{"a stopped run is left to replay", []*journal.Run{
			{ID: "r1", Status: journal.RunStopped, Steps: map[string]*journal.Step{"step.bmc": ok(1, "a")}},
		}, map[string]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &state.Document{}
			for _, r := range tt.runs {
				d.Settle(r, false)
			}
			got := map[string]string{}
			for addr, raw := range d.Steps {
				var e struct{ Result map[string]string }
				if err := json.Unmarshal(raw, &e); err != nil {
					t.Fatal(err)
				}
				got[addr] = e.Result["fingerprint"]
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Steps (-want +got):\n%s", diff)
			}
			for _, r := range tt.runs {
				settled := r.Status == journal.RunSucceeded || r.Status == journal.RunFailed
				if d.Runs[r.ID].Settled != settled {
					t.Errorf("run %s settled = %v, want %v", r.ID, d.Runs[r.ID].Settled, settled)
				}
			}
		})
	}
}

// TestLoadHistoryReadsTheDocument checks that a settled run's successes
// reach the history from the state document alone, with no journal left
// to replay.
func TestLoadHistoryReadsTheDocument(t *testing.T) {
	ctx := context.Background()
	b := local.New(t.TempDir())
	run := &journal.Run{ID: "r1", Status: journal.RunSucceeded, Steps: map[string]*journal.Step{
		"step.bmc": {Status: journal.Succeeded, Updated: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), Result: map[string]string{"fingerprint": "f1"}},
	}}
	if _, err := state.Update(ctx, b, func(d *state.Document) error { d.Settle(run, false); return nil }); err != nil {
		t.Fatal(err)
	}
	h, err := state.LoadHistory(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	got := h.Of(addrs.Step{Name: "bmc"})
	if got == nil {
		t.Fatal("no history for step.bmc")
	}
	if diff := cmp.Diff(map[string]string{"fingerprint": "f1"}, got.LastSuccess); diff != "" {
		t.Errorf("LastSuccess (-want +got):\n%s", diff)
	}
}
