package journal

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/clock"
)

var epoch = time.Date(2026, 11, 28, 22, 0, 0, 123456789, time.UTC)

// memFile is a File in memory whose Write and Sync can be made to block or
// fail.
type memFile struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	closed  bool
	onWrite func(p []byte) (int, error) // nil: accept everything
	onSync  func() error                // nil: succeed
}

func (m *memFile) Write(p []byte) (int, error) {
	m.mu.Lock()
	hook := m.onWrite
	m.mu.Unlock()
	n := len(p)
	var err error
	if hook != nil {
		n, err = hook(p)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.buf.Write(p[:n])
	return n, err
}

func (m *memFile) Sync() error {
	m.mu.Lock()
	hook := m.onSync
	m.mu.Unlock()
	if hook != nil {
		return hook()
	}
	return nil
}

func (m *memFile) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	return nil
}

func (m *memFile) set(write func([]byte) (int, error), sync func() error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.onWrite, m.onSync = write, sync
}

func (m *memFile) bytes() []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	return bytes.Clone(m.buf.Bytes())
}

// pendingRecords returns how many records wait for the next commit.
func (j *Journal) pendingRecords() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.pending == nil {
		return 0
	}
	return bytes.Count(j.pending.buf, []byte{'\n'})
}

// waitFor polls cond until it holds, failing the test after a deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Microsecond)
	}
}

func mustAppend(t *testing.T, j *Journal, recs ...Record) {
	t.Helper()
	for _, r := range recs {
		if err := j.Append(r); err != nil {
			t.Fatalf("Append(%s %s): %v", r.Type, r.Step, err)
		}
	}
}

// ticking returns a fake clock that moves one second per call to Now.
type ticking struct{ *clock.Fake }

func (c ticking) Now() time.Time {
	now := c.Fake.Now()
	c.Fake.Advance(time.Second)
	return now
}

func newTicking() ticking { return ticking{clock.NewFake(epoch)} }
