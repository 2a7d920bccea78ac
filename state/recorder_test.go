package state_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/addrs"
	"github.com/runbook-dev/runbook/clock"
	"github.com/runbook-dev/runbook/executor/journal"
	"github.com/runbook-dev/runbook/state"
	"github.com/runbook-dev/runbook/state/local"
)

// failingWrites is a backend whose document writes fail while broken is set.
type failingWrites struct {
	state.Backend
	broken atomic.Bool
}

func (f *failingWrites) WriteDocument(ctx context.Context, data []byte, ifMatch string) (string, error) {
	if f.broken.Load() {
		return "", errors.New("503 Server Busy (injected)")
	}
	return f.Backend.WriteDocument(ctx, data, ifMatch)
}

// TestRecorderThatCannotWrite: when the document cannot be written, Finish
// says so, the run stays unsettled, and history replays its journal: the
// journal is the record.
func TestRecorderThatCannotWrite(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC))
	b := &failingWrites{Backend: local.New(t.TempDir())}
	rec, err := state.StartRecorder(ctx, b, "r1", state.RunHead{Started: clk.Now()})
	if err != nil {
		t.Fatal(err)
	}
	j, err := b.CreateJournal(ctx, "r1", clk)
	if err != nil {
		t.Fatal(err)
	}
	j.OnDurable(rec.Durable)
	b.broken.Store(true)
	j.Append(journal.Record{Type: journal.RunStarted})
	j.Append(journal.Record{Type: journal.StepIntent, Step: "step.a", Attempt: 1, Action: "update"})
	j.Queue(journal.Record{Type: journal.StepResult, Step: "step.a", Attempt: 1, Status: journal.Succeeded, Result: map[string]string{"fingerprint": "fa"}})
	j.Queue(journal.Record{Type: journal.RunEnded, Status: journal.Succeeded})
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	seq, hash := j.Head()
	if err := rec.Finish(journal.RunSucceeded, seq, hash); err == nil {
		t.Fatal("Finish reported no error though no write succeeded")
	}
	b.broken.Store(false)
	doc, _, err := state.ReadDocument(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	if h := doc.Runs["r1"]; h.Settled || h.Ended() {
		t.Errorf("run r1 is %+v in the document; want registered only", h)
	}
	h, err := state.LoadHistory(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	if a := h.Of(addrs.Step{Name: "a"}); a == nil || a.LastSuccess["fingerprint"] != "fa" {
		t.Errorf("step.a = %+v; want its success replayed from the journal", a)
	}
}
