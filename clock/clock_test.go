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
