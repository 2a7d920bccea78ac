package statetest

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/runbook-dev/runbook/addrs"
	"github.com/runbook-dev/runbook/clock"
	"github.com/runbook-dev/runbook/executor/journal"
	"github.com/runbook-dev/runbook/state"
)

// counting is a Backend that counts the calls plan must not make more of
// as runs accumulate: listing journals and reading them.
type counting struct {
	state.Backend
	lists, reads atomic.Int64
	mu           sync.Mutex
	runs         []string
}

// read returns the runs whose journals were read.
func (c *counting) read() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.runs...)
}

func (c *counting) Runs(ctx context.Context) ([]string, error) {
	c.lists.Add(1)
	return c.Backend.Runs(ctx)
}

func (c *counting) ReadJournal(ctx context.Context, run string) ([]byte, error) {
	c.reads.Add(1)
	c.mu.Lock()
	c.runs = append(c.runs, run)
	c.mu.Unlock()
	return c.Backend.ReadJournal(ctx, run)
}

// RunHistory checks the history snapshot on backends made by newEmpty: an
// apply's Recorder puts each success into the state document as the
// journal makes it durable, a finished run is settled so that history is
// read from the document alone (no listing, no journal read), a run killed
// midway is replayed from its journal, and a store written before runs
// were registered is indexed once.
func RunHistory(t *testing.T, newEmpty func(t *testing.T) func() state.Backend) {
	clk := clock.NewFake(time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC))
	started := func(j *journal.Journal) {
		t.Helper()
		if err := j.Append(journal.Record{Type: journal.RunStarted}); err != nil {
			t.Fatal(err)
		}
	}
	succeed := func(j *journal.Journal, step, v string) {
		t.Helper()
		if err := j.Append(journal.Record{Type: journal.StepIntent, Step: step, Attempt: 1, Action: "update"}); err != nil {
			t.Fatal(err)
		}
		if err := j.Queue(journal.Record{Type: journal.StepResult, Step: step, Attempt: 1, Status: journal.Succeeded, Result: map[string]string{"fingerprint": v}}); err != nil {
			t.Fatal(err)
		}
	}
	lastSuccess := func(t *testing.T, b state.Backend, step string) map[string]string {
		t.Helper()
		h, err := state.LoadHistory(ctx(t), b)
		if err != nil {
			t.Fatal(err)
		}
		if s := h.Of(addrs.Step{Name: step}); s != nil {
			return s.LastSuccess
		}
		return nil
	}

	// begin registers run and opens its journal as an apply does, the
	// recorder told of every durable record.
	begin := func(t *testing.T, b state.Backend, run string) (*state.Recorder, *journal.Journal) {
		t.Helper()
		rec, err := state.StartRecorder(ctx(t), b, run, state.RunHead{Started: clk.Now()})
		if err != nil {
			t.Fatal(err)
		}
		j, err := b.CreateJournal(ctx(t), run, clk)
		if err != nil {
			t.Fatal(err)
		}
		j.OnDurable(rec.Durable)
		return rec, j
	}
	// end ends the run as succeeded, closes its journal and finishes the
	// recorder; it returns the journal's head.
	end := func(t *testing.T, rec *state.Recorder, j *journal.Journal) (uint64, string) {
		t.Helper()
		j.Queue(journal.Record{Type: journal.RunEnded, Status: journal.Status(journal.RunSucceeded)})
		if err := j.Close(); err != nil {
			t.Fatal(err)
		}
		seq, hash := j.Head()
		if err := rec.Finish(journal.RunSucceeded, seq, hash); err != nil {
			t.Fatal(err)
		}
		return seq, hash
	}

	t.Run("each success reaches the document as it becomes durable", func(t *testing.T) {
		b := newEmpty(t)()
		rec, j := begin(t, b, "r1")
		started(j)
		succeed(j, "step.a", "fa")
		// The next durable record carries step.a's result to the store.
		if err := j.Append(journal.Record{Type: journal.StepIntent, Step: "step.b", Attempt: 1, Action: "update"}); err != nil {
			t.Fatal(err)
		}
		waitDocument(t, b, func(d *state.Document) bool { return d.Steps["step.a"].Result != nil })
		doc, _, err := state.ReadDocument(ctx(t), b)
		if err != nil {
			t.Fatal(err)
		}
		if h := doc.Runs["r1"]; h.Settled || h.Ended() {
			t.Errorf("the running run is %+v: neither settled nor ended while it runs", h)
		}
		seq, hash := end(t, rec, j)
		doc, _, err = state.ReadDocument(ctx(t), b)
		if err != nil {
			t.Fatal(err)
		}
		h := doc.Runs["r1"]
		if !h.Settled || h.Status != string(journal.RunSucceeded) || h.Records != seq || h.Hash != hash {
			t.Errorf("after Finish the run is %+v, want settled, succeeded, head %d %s", h, seq, hash)
		}
		if n, syncs := rec.Writes(), j.Syncs(); n > int(syncs)+1 {
			t.Errorf("%d document writes for %d durable batches and the end; want at most one per batch and one at the end", n, syncs)
		}
	})

	t.Run("a concurrent writer's change is kept", func(t *testing.T) {
		b := newEmpty(t)()
		rec, j := begin(t, b, "r1")
		started(j)
		succeed(j, "step.a", "fa")
		j.Append(journal.Record{Type: journal.Note, Reason: "carry step.a"})
		waitDocument(t, b, func(d *state.Document) bool { return d.Steps["step.a"].Result != nil })
		// Another process (state migrate, force-unlock) writes the
		// document: the recorder's next write must not undo it.
		if _, err := state.Update(ctx(t), b, func(d *state.Document) error {
			d.SetHead("other", state.RunHead{Records: 1, Hash: "h"})
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		succeed(j, "step.b", "fb")
		end(t, rec, j)
		doc, _, err := state.ReadDocument(ctx(t), b)
		if err != nil {
			t.Fatal(err)
		}
		if doc.Steps["step.a"].Result == nil || doc.Steps["step.b"].Result == nil || doc.Runs["other"].Hash != "h" || !doc.Runs["r1"].Settled {
			t.Errorf("document after a concurrent write: steps %v, runs %+v", doc.Steps, doc.Runs)
		}
	})

	t.Run("plans read settled runs from the document alone", func(t *testing.T) {
		open := newEmpty(t)
		b := open()
		for i, run := range []string{"r1", "r2", "r3"} {
			clk.Advance(time.Minute)
			rec, j := begin(t, b, run)
			started(j)
			succeed(j, "step.bmc", run)
			if i == 0 {
				succeed(j, "step.only_first", run)
			}
			end(t, rec, j)
		}
		if _, err := state.Index(ctx(t), b); err != nil {
			t.Fatal(err)
		}
		c := &counting{Backend: open()}
		if diff := cmp.Diff(map[string]string{"fingerprint": "r3"}, lastSuccess(t, c, "bmc")); diff != "" {
			t.Errorf("step.bmc (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(map[string]string{"fingerprint": "r1"}, lastSuccess(t, c, "only_first")); diff != "" {
			t.Errorf("step.only_first (-want +got):\n%s", diff)
		}
		if l, r := c.lists.Load(), c.reads.Load(); l != 0 || r != 0 {
			t.Errorf("history listed the journals %d times and read %d of them; want neither", l, r)
		}
	})

	t.Run("a run killed midway is replayed, then settled once superseded", func(t *testing.T) {
		open := newEmpty(t)
		b := open()
		clk.Advance(time.Minute)
		rec, err := state.StartRecorder(ctx(t), b, "killed", state.RunHead{Started: clk.Now()})
		if err != nil {
			t.Fatal(err)
		}
		j, err := b.CreateJournal(ctx(t), "killed", clk)
		if err != nil {
			t.Fatal(err)
		}
		// The recorder is not told: the process died before it wrote.
		started(j)
		succeed(j, "step.a", "fa")
		j.Append(journal.Record{Type: journal.StepIntent, Step: "step.b", Attempt: 1, Action: "update"})
		j.Close()
		_ = rec // never finished
		h, err := state.LoadHistory(ctx(t), open())
		if err != nil {
			t.Fatal(err)
		}
		if a := h.Of(addrs.Step{Name: "a"}); a == nil || a.LastSuccess["fingerprint"] != "fa" {
			t.Errorf("step.a = %+v, want its success replayed from the killed run's journal", a)
		}
		if s := h.Of(addrs.Step{Name: "b"}); s == nil || !s.InFlight {
			t.Errorf("step.b = %+v, want in flight", s)
		}
		// A new run supersedes it: Index settles the killed run once.
		clk.Advance(time.Minute)
		if _, err := state.StartRecorder(ctx(t), b, "next", state.RunHead{Started: clk.Now()}); err != nil {
			t.Fatal(err)
		}
		doc, err := state.Index(ctx(t), b)
		if err != nil {
			t.Fatal(err)
		}
		if !doc.Runs["killed"].Settled {
			t.Errorf("the superseded run is %+v, want settled", doc.Runs["killed"])
		}
		c := &counting{Backend: open()}
		if got := lastSuccess(t, c, "a"); got["fingerprint"] != "fa" {
			t.Errorf("step.a after settling = %v", got)
		}
		if got := c.read(); len(got) != 1 || got[0] != "next" {
			t.Errorf("history read the journals of %v; want only the latest run's (next)", got)
		}
	})

	t.Run("a store of an older runbook is indexed once", func(t *testing.T) {
		open := newEmpty(t)
		b := open()
		for _, run := range []string{"old1", "old2"} {
			clk.Advance(time.Minute)
			j, err := b.CreateJournal(ctx(t), run, clk)
			if err != nil {
				t.Fatal(err)
			}
			started(j)
			succeed(j, "step.bmc", run)
			j.Queue(journal.Record{Type: journal.RunEnded, Status: journal.Status(journal.RunSucceeded)})
			if err := j.Close(); err != nil {
				t.Fatal(err)
			}
		}
		c := &counting{Backend: open()}
		if got := lastSuccess(t, c, "bmc"); got["fingerprint"] != "old2" {
			t.Errorf("before indexing: step.bmc = %v, want old2's", got)
		}
		if c.lists.Load() == 0 {
			t.Error("an unindexed store was not listed")
		}
		doc, err := state.Index(ctx(t), b)
		if err != nil {
			t.Fatal(err)
		}
		if !doc.Indexed || len(doc.Runs) != 2 || !doc.Runs["old1"].Settled || !doc.Runs["old2"].Settled {
			t.Fatalf("after Index: indexed %v, runs %+v", doc.Indexed, doc.Runs)
		}
		c = &counting{Backend: open()}
		if got := lastSuccess(t, c, "bmc"); got["fingerprint"] != "old2" {
			t.Errorf("after indexing: step.bmc = %v, want old2's", got)
		}
		if l, r := c.lists.Load(), c.reads.Load(); l != 0 || r != 0 {
			t.Errorf("after indexing, history listed %d times and read %d journals; want neither", l, r)
		}
	})
}

// waitDocument polls the document until cond holds, for what a Recorder
// writes in the background.
func waitDocument(t *testing.T, b state.Backend, cond func(*state.Document) bool) {
	t.Helper()
	// The recorder writes on its own goroutine, in wall time.
	deadline := clock.Real.Now().Add(10 * time.Second)
	for {
		d, _, err := state.ReadDocument(ctx(t), b)
		if err != nil {
			t.Fatal(err)
		}
		if cond(d) {
			return
		}
		if clock.Real.Now().After(deadline) {
			t.Fatalf("the state document never reached the expected state: %+v", d)
		}
		clock.Real.Sleep(ctx(t), 5*time.Millisecond)
	}
}
