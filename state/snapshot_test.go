package state_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/runbook-dev/runbook/addrs"
	"github.com/runbook-dev/runbook/clock"
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
			for addr, e := range d.Steps {
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

// TestForceUnlockIsNotTheRunToResume: a force-unlock's journal, newer than
// the killed run whose locks it broke, neither hides that run from the
// resume nor gets replayed by plans, whether it was registered by
// force-unlock or found by Index in a store not yet indexed.
func TestForceUnlockIsNotTheRunToResume(t *testing.T) {
	ctx := context.Background()
	b := local.New(t.TempDir())
	write := func(run string, at time.Time, recs ...journal.Record) {
		t.Helper()
		j, err := b.CreateJournal(ctx, run, clock.NewFake(at))
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			if err := j.Append(r); err != nil {
				t.Fatal(err)
			}
		}
		if err := j.Close(); err != nil {
			t.Fatal(err)
		}
	}
	t0 := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	write("20261207T090000Z-killed", t0,
		journal.Record{Type: journal.RunStarted},
		journal.Record{Type: journal.StepIntent, Step: "step.rotate", Attempt: 1, Action: "update"})
	write("20261207T091000Z-unlock", t0.Add(10*time.Minute),
		journal.Record{Type: journal.RunStarted},
		journal.Record{Type: journal.Note, Reason: "force-unlock: broke lock runbook"},
		journal.Record{Type: journal.RunEnded, Status: journal.Succeeded, Reason: state.KindForceUnlock})
	doc, err := state.Index(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	if run, _, _ := doc.Latest(); run != "20261207T090000Z-killed" {
		t.Errorf("Latest = %q, want the killed run", run)
	}
	if h := doc.Runs["20261207T091000Z-unlock"]; h.Kind != state.KindForceUnlock || !h.Settled {
		t.Errorf("the force-unlock's head = %+v, want kind force-unlock, settled", h)
	}
	if h := doc.Runs["20261207T090000Z-killed"]; h.Settled {
		t.Errorf("the killed run was settled (%+v): it is the one to resume", h)
	}
	hist, err := state.LoadHistory(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	if s := hist.Of(addrs.Step{Name: "rotate"}); s == nil || !s.InFlight {
		t.Errorf("step.rotate = %+v, want in flight in the killed run", s)
	}
}
