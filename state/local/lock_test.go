package local

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/runbook-dev/runbook/executor/lock"
)

// TestSetRun: a resumed run's lock names the resumed run in its lock
// file, so a refused apply names it; BreakLock still refuses to take a
// flock from a live holder.
func TestSetRun(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a, other := New(dir), New(dir)
	who := lock.Holder{PID: 7, Host: "jump1", User: "ops", Started: time.Date(2026, 11, 28, 22, 0, 0, 0, time.UTC), Run: "20261128T220000Z-new001"}
	l, err := a.Lock(ctx, "runbook", who)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.SetRun(ctx, "20261128T210000Z-old001"); err != nil {
		t.Fatal(err)
	}
	want := who
	want.Run = "20261128T210000Z-old001"
	h, ok, err := other.Holder(ctx, "runbook")
	if err != nil || !ok {
		t.Fatalf("Holder = %v, %v", ok, err)
	}
	if diff := cmp.Diff(want, h); diff != "" {
		t.Errorf("Holder after SetRun (-want +got):\n%s", diff)
	}
	_, err = other.Lock(ctx, "runbook", lock.Holder{PID: 8})
	var held *lock.HeldError
	if !errors.As(err, &held) || held.Run != want.Run {
		t.Errorf("refused Lock = %v, want a HeldError naming run %s", err, want.Run)
	}
	if err := other.BreakLock(ctx, "runbook", want); err == nil {
		t.Error("BreakLock took a flock from a live holder")
	}
	if err := l.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if err := l.SetRun(ctx, "x"); err == nil {
		t.Error("SetRun succeeded after Release")
	}
}
