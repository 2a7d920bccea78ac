// Package statetest is the contract every state.Backend must keep, as a
// test suite: each implementation's tests call Run with a constructor of
// fresh, empty backends.
package statetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/runbook-dev/runbook/clock"
	"github.com/runbook-dev/runbook/executor/journal"
	"github.com/runbook-dev/runbook/executor/lock"
	"github.com/runbook-dev/runbook/state"
)

// Run runs the contract against backends made by newBackend. Two calls of
// newBackend in one test must return two views of the same store (two
// machines); each test calls newEmpty once to get a fresh store.
func Run(t *testing.T, newEmpty func(t *testing.T) func() state.Backend) {
	tests := map[string]func(t *testing.T, open func() state.Backend){
		"journal":  testJournal,
		"document": testDocument,
		"lock":     testLock,
		"plans":    testPlans,
		"key":      testKey,
	}
	for name, fn := range tests {
		t.Run(name, func(t *testing.T) { fn(t, newEmpty(t)) })
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

var start = time.Date(2026, 11, 28, 23, 0, 0, 0, time.UTC)

// testJournal: concurrent appends all land once, in a chain that verifies
// from another view of the store, and a resumed journal continues it.
func testJournal(t *testing.T, open func() state.Backend) {
	b := open()
	clk := clock.NewFake(start)
	j, err := b.CreateJournal(ctx(t), "run-1", clk)
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Append(journal.Record{Type: journal.RunStarted, User: "op"}); err != nil {
		t.Fatal(err)
	}
	const steps = 20
	var wg sync.WaitGroup
	errs := make(chan error, steps)
	for i := range steps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- j.Append(journal.Record{Type: journal.StepIntent, Step: fmt.Sprintf("step.s%02d", i), Attempt: 1, Action: "set"})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := j.Queue(journal.Record{Type: journal.StepResult, Step: "step.s00", Status: journal.Succeeded}); err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	seq, head := j.Head()
	if seq != steps+2 {
		t.Errorf("head at record %d, want %d", seq, steps+2)
	}

	other := open()
	if _, err := other.CreateJournal(ctx(t), "run-1", clk); !errors.Is(err, state.ErrExist) {
		t.Errorf("CreateJournal of an existing run = %v, want ErrExist", err)
	}
	data, err := other.ReadJournal(ctx(t), "run-1")
	if err != nil {
		t.Fatal(err)
	}
	recs, err := journal.Parse(data)
	if err != nil {
		t.Fatalf("journal read back does not verify: %v", err)
	}
	if len(recs) != steps+2 {
		t.Errorf("read back %d records, want %d (none lost, none twice)", len(recs), steps+2)
	}
	if err := journal.CheckHead("run-1", data, seq, head); err != nil {
		t.Error(err)
	}

	j2, err := other.OpenJournal(ctx(t), "run-1", clk)
	if err != nil {
		t.Fatal(err)
	}
	if err := j2.Append(journal.Record{Type: journal.RunResumed, Host: "jump"}); err != nil {
		t.Fatal(err)
	}
	if err := j2.Close(); err != nil {
		t.Fatal(err)
	}
	data, _ = b.ReadJournal(ctx(t), "run-1")
	if recs, err := journal.Parse(data); err != nil || len(recs) != steps+3 {
		t.Errorf("resumed journal: %d records, %v; want %d and a chain that verifies", len(recs), err, steps+3)
	}
	if _, err := b.ReadJournal(ctx(t), "run-2"); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("ReadJournal of a missing run = %v, want ErrNotFound", err)
	}
	if _, err := b.OpenJournal(ctx(t), "run-2", clk); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("OpenJournal of a missing run = %v, want ErrNotFound", err)
	}
	j3, err := b.CreateJournal(ctx(t), "run-0", clk)
	if err != nil {
		t.Fatal(err)
	}
	j3.Append(journal.Record{Type: journal.RunStarted})
	j3.Close()
	runs, err := other.Runs(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"run-0", "run-1"}, runs); diff != "" {
		t.Errorf("Runs (-want +got):\n%s", diff)
	}
}

// testDocument: the document is written only over the version read.
func testDocument(t *testing.T, open func() state.Backend) {
	a, b := open(), open()
	if _, _, err := a.ReadDocument(ctx(t)); !errors.Is(err, state.ErrNotFound) {
		t.Fatalf("ReadDocument of a new store = %v, want ErrNotFound", err)
	}
	e1, err := a.WriteDocument(ctx(t), []byte(`{"v":1}`), "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.WriteDocument(ctx(t), []byte(`{"v":"other"}`), ""); !errors.Is(err, state.ErrStale) {
		t.Errorf("creating an existing document = %v, want ErrStale", err)
	}
	data, etag, err := b.ReadDocument(ctx(t))
	if err != nil || string(data) != `{"v":1}` || etag != e1 {
		t.Fatalf("ReadDocument = %s, %s, %v; want {\"v\":1}, %s", data, etag, err, e1)
	}
	e2, err := b.WriteDocument(ctx(t), []byte(`{"v":2}`), etag)
	if err != nil {
		t.Fatal(err)
	}
	if e2 == e1 {
		t.Errorf("the ETag did not change with the content")
	}
	if _, err := a.WriteDocument(ctx(t), []byte(`{"v":3}`), e1); !errors.Is(err, state.ErrStale) {
		t.Errorf("writing over a stale ETag = %v, want ErrStale", err)
	}
	if data, _, _ := a.ReadDocument(ctx(t)); string(data) != `{"v":2}` {
		t.Errorf("after a stale write the document is %s, want {\"v\":2}", data)
	}
}

// testLock: one holder at a time, and the refused one learns who holds it.
func testLock(t *testing.T, open func() state.Backend) {
	a, b := open(), open()
	who := lock.Holder{PID: 4242, Host: "ci-runner-7", User: "ci", Started: start, Run: "run-9"}
	l, err := a.Lock(ctx(t), "hub:https://adminmanagement.east", who)
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.Lock(ctx(t), "hub:https://adminmanagement.east", lock.Holder{PID: 1, Host: "jump"})
	var held *lock.HeldError
	if !errors.As(err, &held) {
		t.Fatalf("second Lock = %v, want a *lock.HeldError", err)
	}
	got := lock.Holder{PID: held.PID, Host: held.Host, User: held.User, Started: held.Started, Run: held.Run}
	if diff := cmp.Diff(who, got); diff != "" {
		t.Errorf("holder named (-want +got):\n%s", diff)
	}
	if h, ok, err := b.Holder(ctx(t), "hub:https://adminmanagement.east"); err != nil || !ok || h.Run != "run-9" {
		t.Errorf("Holder = %+v, %v, %v; want run-9 holding", h, ok, err)
	}
	other, err := b.Lock(ctx(t), "pep:10.0.0.1", who)
	if err != nil {
		t.Fatalf("another lock is independent: %v", err)
	}
	other.Release(ctx(t))
	if err := l.Release(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if err := l.Release(ctx(t)); err != nil {
		t.Errorf("a second Release: %v", err)
	}
	if _, ok, err := b.Holder(ctx(t), "hub:https://adminmanagement.east"); err != nil || ok {
		t.Errorf("after Release, Holder says held=%v (%v)", ok, err)
	}
	l2, err := b.Lock(ctx(t), "hub:https://adminmanagement.east", lock.Holder{PID: 2, Host: "jump"})
	if err != nil {
		t.Fatalf("Lock after Release: %v", err)
	}
	select {
	case <-l2.Lost():
		t.Errorf("a fresh lease is lost: %v", l2.Err())
	default:
	}
	l2.Release(ctx(t))
}

// testPlans: a plan is consumed once, whichever view consumes it, and
// of views consuming one plan at once exactly one succeeds.
func testPlans(t *testing.T, open func() state.Backend) {
	a, b := open(), open()
	if ok, err := a.PlanConsumed(ctx(t), "p1"); err != nil || ok {
		t.Fatalf("PlanConsumed of a new plan = %v, %v", ok, err)
	}
	if err := a.ConsumePlan(ctx(t), "p1"); err != nil {
		t.Fatal(err)
	}
	if err := a.ConsumePlan(ctx(t), "p1"); !errors.Is(err, state.ErrConsumed) {
		t.Errorf("second ConsumePlan from the same view = %v, want ErrConsumed", err)
	}
	if err := b.ConsumePlan(ctx(t), "p1"); !errors.Is(err, state.ErrConsumed) {
		t.Errorf("second ConsumePlan from another view = %v, want ErrConsumed", err)
	}
	if ok, err := b.PlanConsumed(ctx(t), "p1"); err != nil || !ok {
		t.Errorf("PlanConsumed after ConsumePlan = %v, %v", ok, err)
	}
	if ok, err := b.PlanConsumed(ctx(t), "p2"); err != nil || ok {
		t.Errorf("PlanConsumed of another plan = %v, %v", ok, err)
	}

	const n = 6
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = open().ConsumePlan(ctx(t), "p2")
		}()
	}
	wg.Wait()
	won := 0
	for i, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, state.ErrConsumed):
			t.Errorf("concurrent ConsumePlan %d = %v, want nil or ErrConsumed", i, err)
		}
	}
	if won != 1 {
		t.Errorf("%d of %d concurrent ConsumePlan calls succeeded, want exactly 1", won, n)
	}
}

// testKey: the key is 32 bytes and the same from every view and every
// call, including views asking for it at once before any has it.
func testKey(t *testing.T, open func() state.Backend) {
	const n = 6
	keys := make([][]byte, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			keys[i], errs[i] = open().Key(ctx(t))
		}()
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("concurrent first Key %d: %v", i, errs[i])
		}
	}
	a := open()
	again, err := a.Key(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	twice, err := a.Key(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	keys = append(keys, again, twice)
	for i, k := range keys {
		if len(k) != 32 || string(k) != string(keys[0]) {
			t.Errorf("key %d: %d bytes, equal to the first %v; want one 32-byte key", i, len(k), string(k) == string(keys[0]))
		}
	}
}
