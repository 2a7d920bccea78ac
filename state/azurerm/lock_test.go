package azurerm

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/runbook-dev/runbook/executor/lock"
	"github.com/runbook-dev/runbook/internal/azuritetest"
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
	if _, err := other.BreakLock(ctx(t), "runbook"); err != nil {
		t.Fatal(err)
	}
	if err := l.SetRun(ctx(t), "20261128T200000Z-xxx001"); err == nil {
		t.Error("SetRun succeeded on a broken lease")
	}
}

// TestBreakLockChangedHands: a lock whose holder changed between the read
// that named it and the break is refused, not broken.
func TestBreakLockChangedHands(t *testing.T) {
	_, name := azuritetest.Container(t)
	a, other := newBackend(t, name, Config{}), newBackend(t, name, Config{})
	l, err := a.Lock(ctx(t), "runbook", lock.Holder{PID: 7, Host: "jump1", Run: "run-a"})
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
	if err := other.breakLease(ctx(t), "runbook", etag); err == nil {
		t.Fatal("a break conditional on the old ETag succeeded")
	}
	if h, ok, err := other.Holder(ctx(t), "runbook"); err != nil || !ok || h.Run != "run-b" {
		t.Errorf("after the refused break Holder = %+v, %v, %v; want run-b holding", h, ok, err)
	}
}
