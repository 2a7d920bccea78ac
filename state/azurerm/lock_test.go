package azurerm

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/runbook-dev/runbook/executor/lock"
	"github.com/runbook-dev/runbook/internal/azuritetest"
	"github.com/runbook-dev/runbook/state"
)

// TestSetRun: a resumed run's lease is relabelled under the lease, so a
// refused apply and Holder name the resumed run; once the lease is broken
// the holder can no longer relabel it.
func TestSetRun(t *testing.T) {
	_, name := azuritetest.Container(t)
	a, other := newBackend(t, name, Config{}), newBackend(t, name, Config{})
	started := time.Date(2026, 11, 28, 22, 0, 0, 0, time.UTC)
	who := lock.Holder{PID: 7, Host: "jump1", User: "ops", Started: started, Run: "20261128T220000Z-new001"}
	l, err := a.Lock(ctx(t), "runbook", who)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release(ctx(t))
	if err := l.SetRun(ctx(t), "20261128T210000Z-old001"); err != nil {
		t.Fatal(err)
	}
	want := who
	want.Run = "20261128T210000Z-old001"
	h, ok, err := other.Holder(ctx(t), "runbook")
	if err != nil || !ok {
		t.Fatalf("Holder = %v, %v", ok, err)
	}
	if diff := cmp.Diff(want, h); diff != "" {
		t.Errorf("Holder after SetRun (-want +got):\n%s", diff)
	}
	_, err = other.Lock(ctx(t), "runbook", lock.Holder{PID: 8})
	var held *lock.HeldError
	if !errors.As(err, &held) || held.Run != want.Run {
		t.Errorf("refused Lock = %v, want a HeldError naming run %s", err, want.Run)
	}
	if err := other.BreakLock(ctx(t), "runbook", want); err != nil {
		t.Fatal(err)
	}
	if err := l.SetRun(ctx(t), "20261128T200000Z-xxx001"); err == nil {
		t.Error("SetRun succeeded on a broken lease")
	}
}

// TestBreakLockChangedHands: a lock whose holder changed since it was
// shown to the operator is refused, not broken: by BreakLock's own check,
// and by the ETag condition when the change falls between its read and
// its break.
func TestBreakLockChangedHands(t *testing.T) {
	_, name := azuritetest.Container(t)
	a, other := newBackend(t, name, Config{}), newBackend(t, name, Config{})
	shown := lock.Holder{PID: 7, Host: "jump1", Run: "run-a"}
	l, err := a.Lock(ctx(t), "runbook", shown)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release(ctx(t))
	_, _, etag, err := other.holder(ctx(t), "runbook")
	if err != nil {
		t.Fatal(err)
	}
	if err := l.SetRun(ctx(t), "run-b"); err != nil { // another holder records itself
		t.Fatal(err)
	}
	if err := other.BreakLock(ctx(t), "runbook", shown); !errors.Is(err, state.ErrChangedHands) {
		t.Errorf("BreakLock of the holder shown before = %v, want ErrChangedHands", err)
	}
	if err := other.breakLease(ctx(t), "runbook", etag); !errors.Is(err, state.ErrChangedHands) {
		t.Errorf("a break conditional on the old ETag = %v, want ErrChangedHands", err)
	}
	select {
	case <-l.Lost():
		t.Fatalf("the lease was lost: %v", l.Err())
	default:
	}
	if h, ok, err := other.Holder(ctx(t), "runbook"); err != nil || !ok || h.Run != "run-b" {
		t.Errorf("after the refused breaks Holder = %+v, %v, %v; want run-b holding", h, ok, err)
	}
}
