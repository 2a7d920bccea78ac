package wsman

import (
	"sync"

	"github.com/runbook-dev/runbook/clock"
)

// clockHold keeps a warp clock (the simulated stamp's, which skips ahead
// while everything waits) from skipping while a request is being served,
// so that clients' timeouts measure the request's real time. Other clocks
// are left alone.
type clockHold struct {
	mu   sync.Mutex
	hold interface{ Hold() func() }
	rel  func()
}

type holdKey struct{}

func holdClock(c clock.Clock) *clockHold {
	h := &clockHold{}
	if w, ok := c.(interface{ Hold() func() }); ok {
		h.hold = w
		h.acquire()
	}
	return h
}

func (h *clockHold) acquire() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.hold != nil && h.rel == nil {
		h.rel = h.hold.Hold()
	}
}

func (h *clockHold) release() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.rel != nil {
		h.rel()
		h.rel = nil
	}
}
