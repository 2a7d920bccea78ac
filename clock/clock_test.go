package clock

import (
	"context"
	"errors"
	"testing"
	"time"
)

var epoch = time.Date(2026, 11, 28, 22, 0, 0, 0, time.UTC)

func TestFakeSleepWakesOnAdvance(t *testing.T) {
	f := NewFake(epoch)
	ctx := context.Background()
	done := make(chan time.Time)
	go func() {
		if err := f.Sleep(ctx, 4*time.Hour); err != nil {
			t.Error(err)
		}
		done <- f.Now()
	}()
	if err := f.BlockUntil(ctx, 1); err != nil {
		t.Fatal(err)
	}
	f.Advance(3*time.Hour + 59*time.Minute)
	select {
	case <-done:
		t.Fatal("woke before its deadline")
	case <-time.After(10 * time.Millisecond):
	}
	f.Advance(time.Minute)
	got := <-done
	if want := epoch.Add(4 * time.Hour); !got.Equal(want) {
		t.Fatalf("woke at %v, want %v", got, want)
	}
}

func TestFakeTimersFireInOrder(t *testing.T) {
	f := NewFake(epoch)
	a := f.NewTimer(2 * time.Second)
	b := f.NewTimer(1 * time.Second)
	c := f.NewTimer(3 * time.Second)
	if !c.Stop() {
		t.Fatal("Stop of a pending timer reported false")
	}
	f.Advance(10 * time.Second)
	if got := <-b.C(); !got.Equal(epoch.Add(time.Second)) {
		t.Errorf("b fired at %v", got)
	}
	if got := <-a.C(); !got.Equal(epoch.Add(2 * time.Second)) {
		t.Errorf("a fired at %v", got)
	}
	select {
	case <-c.C():
		t.Error("stopped timer fired")
	default:
	}
	if f.Waiters() != 0 {
		t.Errorf("Waiters = %d, want 0", f.Waiters())
	}
}

func TestFakeSleepCancelled(t *testing.T) {
	f := NewFake(epoch)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error)
	go func() { errc <- f.Sleep(ctx, time.Hour) }()
	if err := f.BlockUntil(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("Sleep = %v, want context.Canceled", err)
	}
	if f.Waiters() != 0 {
		t.Errorf("cancelled sleep left %d timers", f.Waiters())
	}
}

func TestFakeReset(t *testing.T) {
	f := NewFake(epoch)
	tm := f.NewTimer(time.Hour)
	if !tm.Reset(time.Minute) {
		t.Error("Reset of a pending timer reported false")
	}
	f.Advance(time.Minute)
	select {
	case <-tm.C():
	default:
		t.Fatal("reset timer did not fire")
	}
}

func TestWithTimeoutOnFakeClock(t *testing.T) {
	f := NewFake(epoch)
	ctx, cancel := WithTimeout(context.Background(), f, 6*time.Hour)
	defer cancel()
	if err := f.BlockUntil(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	f.Advance(6 * time.Hour)
	<-ctx.Done()
	if !errors.Is(context.Cause(ctx), context.DeadlineExceeded) {
		t.Fatalf("cause = %v, want DeadlineExceeded", context.Cause(ctx))
	}
}

func TestScaled(t *testing.T) {
	base := NewFake(epoch)
	s := NewScaled(base, epoch, 3600)
	base.Advance(time.Second)
	if got, want := s.Now(), epoch.Add(time.Hour); !got.Equal(want) {
		t.Fatalf("Now = %v, want %v", got, want)
	}
	done := make(chan struct{})
	go func() { _ = s.Sleep(context.Background(), 4*time.Hour); close(done) }()
	if err := base.BlockUntil(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	base.Advance(4 * time.Second)
	<-done
}

func TestRealSleep(t *testing.T) {
	start := Real.Now()
	if err := Real.Sleep(context.Background(), time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if Real.Since(start) < time.Millisecond {
		t.Fatal("Real.Sleep returned early")
	}
}

func TestWarpSkipsIdleSleeps(t *testing.T) {
	w := NewWarp(Real, epoch, time.Millisecond)
	defer w.Stop()
	start := Real.Now()
	// 240 one-minute polls: four virtual hours.
	for i := 0; i < 240; i++ {
		if err := w.Sleep(context.Background(), time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	if got := w.Since(epoch); got < 4*time.Hour || got > 4*time.Hour+10*time.Second {
		t.Errorf("virtual time advanced %v, want about 4h", got)
	}
	if real := Real.Since(start); real > 5*time.Second {
		t.Errorf("four virtual hours took %v of real time", real)
	}
}

func TestWarpTimeoutsMeasureRealWork(t *testing.T) {
	w := NewWarp(Real, epoch, time.Millisecond)
	defer w.Stop()
	// With no sleeper, the clock does not jump: a 10-minute timeout does not
	// fire while work takes a few real milliseconds.
	ctx, cancel := WithTimeout(context.Background(), w, 10*time.Minute)
	defer cancel()
	time.Sleep(20 * time.Millisecond)
	if ctx.Err() != nil {
		t.Fatal("the timeout fired although no virtual time was skipped")
	}
	if got := w.Since(epoch); got > time.Second {
		t.Errorf("virtual time jumped to %v without a sleeper", got)
	}
}

func TestWarpTimersFireInOrder(t *testing.T) {
	w := NewWarp(Real, epoch, time.Millisecond)
	defer w.Stop()
	long := w.NewTimer(2 * time.Hour)
	if err := w.Sleep(context.Background(), time.Hour); err != nil {
		t.Fatal(err)
	}
	select {
	case <-long.C():
		t.Fatal("the 2h timer fired after a 1h sleep")
	default:
	}
	if err := w.Sleep(context.Background(), 2*time.Hour); err != nil {
		t.Fatal(err)
	}
	select {
	case at := <-long.C():
		if d := at.Sub(epoch.Add(2 * time.Hour)); d < 0 || d > time.Second {
			t.Errorf("fired at %v, want 2h after the start", at)
		}
	case <-time.After(time.Second):
		t.Fatal("the 2h timer never fired")
	}
}
