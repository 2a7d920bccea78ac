package clock

import (
	"container/heap"
	"context"
	"sync"
	"time"
)

// Fake is a Clock whose time moves only when told to. Timers fire, in order
// of their deadlines, when Advance or AdvanceTo moves time past them.
// The zero value is not usable; call NewFake.
type Fake struct {
	mu      sync.Mutex
	now     time.Time
	timers  timerHeap
	seq     uint64
	changed chan struct{} // closed and replaced whenever the set of waiters changes
}

// NewFake returns a fake clock set to start.
func NewFake(start time.Time) *Fake {
	return &Fake{now: start, changed: make(chan struct{})}
}

// Now returns the fake's current time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// Since returns the fake time elapsed since t.
func (f *Fake) Since(t time.Time) time.Duration { return f.Now().Sub(t) }

// Sleep blocks until the fake time has advanced by d or ctx ends.
func (f *Fake) Sleep(ctx context.Context, d time.Duration) error { return sleep(ctx, f, d) }

// NewTimer returns a timer that fires when the fake time reaches now+d.
func (f *Fake) NewTimer(d time.Duration) Timer {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := &fakeTimer{f: f, entry: newEntry()}
	f.schedule(t.entry, d)
	return t
}

// Advance moves the time forward by d, firing every timer that falls due.
func (f *Fake) Advance(d time.Duration) { f.AdvanceTo(f.Now().Add(d)) }

// AdvanceTo moves the time forward to t (never backwards), firing every timer
// whose deadline is at or before t, in deadline order; each fires with its
// own deadline as the current time.
func (f *Fake) AdvanceTo(t time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for len(f.timers) > 0 && !f.timers[0].when.After(t) {
		ft := heap.Pop(&f.timers).(*entry)
		if ft.when.After(f.now) {
			f.now = ft.when
		}
		ft.fire(f.now)
	}
	if t.After(f.now) {
		f.now = t
	}
	f.notify()
}

// Waiters returns the number of pending timers (sleepers included).
func (f *Fake) Waiters() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.timers)
}

// Next returns the deadline of the earliest pending timer and whether there
// is one.
func (f *Fake) Next() (time.Time, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.timers) == 0 {
		return time.Time{}, false
	}
	return f.timers[0].when, true
}

// BlockUntil waits until at least n timers are pending or ctx ends. Tests use
// it to know that the code under test has gone to sleep before advancing.
func (f *Fake) BlockUntil(ctx context.Context, n int) error {
	for {
		f.mu.Lock()
		if len(f.timers) >= n {
			f.mu.Unlock()
			return nil
		}
		ch := f.changed
		f.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// notify wakes BlockUntil callers; f.mu must be held.
func (f *Fake) notify() {
	close(f.changed)
	f.changed = make(chan struct{})
}

// schedule arms t to fire after d; f.mu must be held.
func (f *Fake) schedule(t *entry, d time.Duration) {
	t.when = f.now.Add(d)
	if d <= 0 {
		t.fire(f.now)
		return
	}
	f.seq++
	t.seq = f.seq
	heap.Push(&f.timers, t)
	f.notify()
}

type fakeTimer struct {
	f *Fake
	*entry
}

func (t *fakeTimer) C() <-chan time.Time { return t.c }

func (t *fakeTimer) Stop() bool {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	if !t.f.timers.remove(t.entry) {
		return false
	}
	t.f.notify()
	return true
}

func (t *fakeTimer) Reset(d time.Duration) bool {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	was := t.f.timers.remove(t.entry)
	t.f.schedule(t.entry, d)
	return was
}

var _ Clock = (*Fake)(nil)
