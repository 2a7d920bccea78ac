package journal

import (
	"errors"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/runbook-dev/runbook/clock"
)

// observed collects what OnDurable reports.
type observed struct {
	mu    sync.Mutex
	types []Type
	seq   uint64
	head  string
}

func (o *observed) fn(recs []Record, seq uint64, hash string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, r := range recs {
		o.types = append(o.types, r.Type)
	}
	o.seq, o.head = seq, hash
}

func (o *observed) get() ([]Type, uint64, string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]Type(nil), o.types...), o.seq, o.head
}

func TestOnDurableReportsRecordsOnceOnStableStorage(t *testing.T) {
	f := &memFile{}
	j := New(f, "r1", clock.NewFake(epoch))
	var o observed
	j.OnDurable(o.fn)
	if err := j.Append(Record{Type: RunStarted}); err != nil {
		t.Fatal(err)
	}
	if err := j.Queue(Record{Type: StepResult, Step: "step.a", Attempt: 1, Status: Succeeded}); err != nil {
		t.Fatal(err)
	}
	// A queued record is not reported before an fsync covers it.
	waitFor(t, "the queued record written", func() bool { return j.pendingRecords() == 0 })
	if got, _, _ := o.get(); !cmp.Equal(got, []Type{RunStarted}) {
		t.Fatalf("before the next fsync: %v, want only run_started", got)
	}
	if err := j.Append(Record{Type: StepIntent, Step: "step.b", Attempt: 1, Action: "update"}); err != nil {
		t.Fatal(err)
	}
	got, seq, head := o.get()
	if diff := cmp.Diff([]Type{RunStarted, StepResult, StepIntent}, got); diff != "" {
		t.Fatalf("after the fsync (-want +got):\n%s", diff)
	}
	if s, h := j.Head(); seq != s || head != h || seq != 3 {
		t.Fatalf("reported head %d %s, journal head %d %s", seq, head, s, h)
	}
	j.Queue(Record{Type: RunEnded, Status: Succeeded})
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if got, seq, _ := o.get(); len(got) != 4 || got[3] != RunEnded || seq != 4 {
		t.Fatalf("after Close: %v (head %d), want run_ended reported at 4", got, seq)
	}
}

func TestOnDurableReportsNothingThatFailedToSync(t *testing.T) {
	f := &memFile{}
	j := New(f, "r1", clock.NewFake(epoch))
	var o observed
	j.OnDurable(o.fn)
	f.set(nil, func() error { return errors.New("disk full") })
	if err := j.Append(Record{Type: RunStarted}); err == nil {
		t.Fatal("Append succeeded on a failing fsync")
	}
	j.Close()
	if got, _, _ := o.get(); len(got) != 0 {
		t.Fatalf("reported %v, though nothing reached stable storage", got)
	}
}
