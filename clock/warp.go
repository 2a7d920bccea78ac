package clock

import (
	"container/heap"
	"context"
	"sync"
	"time"
)

// Warp is a Clock for simulations: virtual time runs with its base clock,
// but whenever something sleeps on it and nothing else has touched the clock
// for a short pause, virtual time jumps to the earliest pending deadline.
// Work (an HTTP request, a signature) takes its real time, and timeouts
// measure it honestly; waiting (polling a four-hour rotation every minute)
// costs only the pause per wake-up. The simulated stamp of -simulate runs on
// one, shared by the simulators and the clients in the process.
//
// A jump never passes a pending deadline, so timers fire in order; but a
// jump may happen while other work is in flight without touching the clock,
// which then appears to have taken longer. Callers choose a pause long
// enough for that not to matter.
type Warp struct {
	base  Clock
	pause time.Duration

	mu       sync.Mutex
	offset   time.Duration // virtual minus base time
	timers   timerHeap
	seq      uint64
	sleepers int
	holds    int
	active   time.Time // base time of the last activity
	wake     chan struct{}
	stop     chan struct{}
	stopOnce sync.Once
}

// NewWarp returns a warp clock reading start now. pause is how long the
// clock must be left alone, with a sleeper waiting, before it jumps.
// Stop releases its goroutine.
func NewWarp(base Clock, start time.Time, pause time.Duration) *Warp {
	w := &Warp{
		base: base, pause: pause, offset: start.Sub(base.Now()),
		active: base.Now(), wake: make(chan struct{}, 1), stop: make(chan struct{}),
	}
	go w.run()
	return w
}

// Stop ends the clock's goroutine; pending timers no longer fire.
func (w *Warp) Stop() { w.stopOnce.Do(func() { close(w.stop) }) }

// Now returns the virtual time.
func (w *Warp) Now() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.nowLocked()
}

func (w *Warp) nowLocked() time.Time { return w.base.Now().Add(w.offset) }

// Since returns the virtual time elapsed since t.
func (w *Warp) Since(t time.Time) time.Duration { return w.Now().Sub(t) }

// NewTimer returns a timer that fires when virtual time reaches now+d.
func (w *Warp) NewTimer(d time.Duration) Timer {
	w.mu.Lock()
	defer w.mu.Unlock()
	t := &warpTimer{w: w, entry: newEntry()}
	w.scheduleLocked(t.entry, d)
	return t
}

// Sleep waits for d of virtual time; while it waits, the clock may jump.
// A sleeper stops counting as one the moment its deadline fires, not when
// its goroutine next runs: on a busy machine that can take a while, and the
// clock must not jump past other deadlines meanwhile.
func (w *Warp) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d <= 0 {
		return nil
	}
	e := newEntry()
	e.sleeper = true
	w.mu.Lock()
	w.sleepers++
	w.scheduleLocked(e, d)
	w.mu.Unlock()
	select {
	case <-e.c:
		return nil
	case <-ctx.Done():
		w.mu.Lock()
		if w.timers.remove(e) {
			w.sleepers--
			w.active = w.base.Now()
		}
		w.mu.Unlock()
		return ctx.Err()
	}
}

// Hold marks real work in progress (a request being served): the clock
// does not jump until the returned release is called.
func (w *Warp) Hold() (release func()) {
	w.mu.Lock()
	w.holds++
	w.active = w.base.Now()
	w.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			w.mu.Lock()
			w.holds--
			w.active = w.base.Now()
			w.mu.Unlock()
			w.poke()
		})
	}
}

func (w *Warp) scheduleLocked(t *entry, d time.Duration) {
	now := w.nowLocked()
	w.active = w.base.Now()
	t.when = now.Add(d)
	if d <= 0 {
		if t.sleeper {
			w.sleepers--
		}
		t.fire(now)
		return
	}
	w.seq++
	t.seq = w.seq
	heap.Push(&w.timers, t)
	w.poke()
}

func (w *Warp) poke() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// run fires due timers, and jumps when sleepers wait on an idle clock.
func (w *Warp) run() {
	for {
		w.mu.Lock()
		now := w.nowLocked()
		for len(w.timers) > 0 && !w.timers[0].when.After(now) {
			t := heap.Pop(&w.timers).(*entry)
			if t.sleeper {
				w.sleepers--
			}
			t.fire(t.when)
			// Whoever wakes gets a pause to act before the next jump.
			w.active = w.base.Now()
		}
		wait := time.Duration(-1)
		if len(w.timers) > 0 {
			wait = w.timers[0].when.Sub(now)
			if w.sleepers > 0 && w.holds == 0 {
				idle := w.base.Since(w.active)
				if idle >= w.pause {
					// Jump to the earliest deadline and fire it next round.
					w.offset += wait
					w.mu.Unlock()
					continue
				}
				wait = min(wait, w.pause-idle)
			}
		}
		w.mu.Unlock()
		var tc <-chan time.Time
		var t Timer
		if wait >= 0 {
			t = w.base.NewTimer(max(wait, 50*time.Microsecond))
			tc = t.C()
		}
		select {
		case <-w.stop:
			if t != nil {
				t.Stop()
			}
			return
		case <-w.wake:
		case <-tc:
		}
		if t != nil {
			t.Stop()
		}
	}
}

type warpTimer struct {
	w *Warp
	*entry
}

func (t *warpTimer) C() <-chan time.Time { return t.c }

func (t *warpTimer) Stop() bool {
	t.w.mu.Lock()
	defer t.w.mu.Unlock()
	return t.w.timers.remove(t.entry)
}

func (t *warpTimer) Reset(d time.Duration) bool {
	t.w.mu.Lock()
	defer t.w.mu.Unlock()
	was := t.w.timers.remove(t.entry)
	t.w.scheduleLocked(t.entry, d)
	return was
}

var _ Clock = (*Warp)(nil)
