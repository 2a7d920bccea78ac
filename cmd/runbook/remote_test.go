package main

import (
	"context"
	"errors"
	"testing"
	"time"
)

// fakeLease is a state.Lease whose loss the test decides.
type fakeLease struct {
	name string
	lost chan struct{}
	err  error
}

func (l *fakeLease) Name() string                         { return l.name }
func (l *fakeLease) Lost() <-chan struct{}                { return l.lost }
func (l *fakeLease) Err() error                           { return l.err }
func (l *fakeLease) Release(ctx context.Context) error    { return nil }
func (l *fakeLease) SetRun(context.Context, string) error { return nil }

// TestWatchLeasesReportsTheFirstLoss checks that an apply learns, once,
// which lock it lost and why, and nothing after it finished.
func TestWatchLeasesReportsTheFirstLoss(t *testing.T) {
	a := &fakeLease{name: "runbook", lost: make(chan struct{})}
	b := &fakeLease{name: "pep:10.0.0.224", lost: make(chan struct{}), err: errors.New("lease broken")}
	s := &session{}
	s.leases = append(s.leases, a, b)
	done := make(chan struct{})
	got := make(chan string, 2)
	s.watchLeases(done, func(name string, err error) { got <- name + ": " + err.Error() })

	close(b.lost)
	select {
	case msg := <-got:
		if want := "pep:10.0.0.224: lease broken"; msg != want {
			t.Errorf("lost %q, want %q", msg, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the lost lease was not reported")
	}
	a.err = errors.New("renewals failed")
	close(a.lost)
	close(done)
	select {
	case msg := <-got:
		t.Errorf("a second loss was reported: %q", msg)
	case <-time.After(50 * time.Millisecond):
	}
}
