package clock

import (
	"context"
	"time"
)

// Scaled is a Clock on which time runs Factor times faster than on its base
// clock, starting from a chosen instant. The simulated stamp uses one so that
// a four-hour rotation takes seconds while progress is still shown live.
type Scaled struct {
	base   Clock
	start  time.Time // virtual time at origin
	origin time.Time // base time when the clock was made
	factor float64
}

// NewScaled returns a clock that reads start now and then runs factor times
// faster than base. A factor below 1 is treated as 1.
func NewScaled(base Clock, start time.Time, factor float64) *Scaled {
	if factor < 1 {
		factor = 1
	}
	return &Scaled{base: base, start: start, origin: base.Now(), factor: factor}
}

// Factor returns how many times faster than its base the clock runs.
func (s *Scaled) Factor() float64 { return s.factor }

// Now returns the virtual time.
func (s *Scaled) Now() time.Time {
	real := s.base.Since(s.origin)
	return s.start.Add(time.Duration(float64(real) * s.factor))
}

// Since returns the virtual time elapsed since t.
func (s *Scaled) Since(t time.Time) time.Duration { return s.Now().Sub(t) }

// Sleep waits for d of virtual time.
func (s *Scaled) Sleep(ctx context.Context, d time.Duration) error { return sleep(ctx, s, d) }

// NewTimer returns a timer that fires after d of virtual time. The value sent
// on its channel is the base clock's time; read Now for the virtual time.
func (s *Scaled) NewTimer(d time.Duration) Timer {
	return s.base.NewTimer(s.toBase(d))
}

func (s *Scaled) toBase(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	b := time.Duration(float64(d) / s.factor)
	if b <= 0 {
		b = 1
	}
	return b
}

var _ Clock = (*Scaled)(nil)
