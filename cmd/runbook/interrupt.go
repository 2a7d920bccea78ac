package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"
)

// errInterrupted is the cause of a command's context cancelled by a signal.
var errInterrupted = errors.New("interrupted")

// interruptGrace is how long a command may take to wind down (close PEP
// sessions, release locks) after the signal that cancelled it before the
// process exits without it. Commands return long before: it only bounds
// work that cannot see its context.
const interruptGrace = 10 * time.Second

// interrupts turns SIGINT and SIGTERM into the cancellation of the
// command's context, so that every command stops promptly: it is set up by
// run for every command. A command with its own stages (apply, once steps
// run) installs a handler that takes the signals instead.
type interrupts struct {
	mu      sync.Mutex
	caught  os.Signal
	handler func(os.Signal) bool
	cancel  context.CancelCauseFunc
	exit    func(int)
	stderr  func(string)
	stopped chan struct{}
}

// watchSignals cancels e.ctx on the first signal from e.signals (or hands
// it to a handler set with onSignal) until stop is called.
func (e *env) watchSignals() (stop func()) {
	ctx, cancel := context.WithCancelCause(e.ctx)
	e.ctx = ctx
	in := &interrupts{cancel: cancel, exit: e.exit, stopped: make(chan struct{}),
		stderr: func(s string) { fmt.Fprintln(e.stderr, s) }}
	e.intr = in
	go func() {
		for {
			select {
			case <-in.stopped:
				return
			case sig := <-e.signals:
				in.deliver(sig)
			}
		}
	}()
	return func() {
		close(in.stopped)
		cancel(nil)
	}
}

// deliver handles one signal: the handler's if it takes it, else the
// command is cancelled; a command that has not returned after the grace
// period (or on a further signal) is left behind and the process exits.
func (in *interrupts) deliver(sig os.Signal) {
	in.mu.Lock()
	first := in.caught == nil
	if first {
		in.caught = sig
	}
	h := in.handler
	in.mu.Unlock()
	if h != nil && h(sig) {
		return
	}
	if !first && in.exit != nil {
		in.stderr("runbook: interrupted again: exiting now")
		in.exit(exitCodeFor(sig))
		return
	}
	in.cancel(errInterrupted)
	if in.exit == nil {
		return
	}
	go func() {
		t := time.NewTimer(interruptGrace)
		defer t.Stop()
		select {
		case <-in.stopped:
		case <-t.C:
			in.stderr("runbook: interrupted: the command did not stop in time; exiting")
			in.exit(exitCodeFor(sig))
		}
	}()
}

// onSignal makes h receive the signals instead of the default handling for
// as long as h returns true; the returned function restores the default.
func (e *env) onSignal(h func(os.Signal) bool) (restore func()) {
	if e.intr == nil {
		return func() {}
	}
	e.intr.mu.Lock()
	e.intr.handler = h
	e.intr.mu.Unlock()
	return func() {
		e.intr.mu.Lock()
		e.intr.handler = nil
		e.intr.mu.Unlock()
	}
}

// interrupted returns the first signal received, or nil.
func (e *env) interrupted() os.Signal {
	if e.intr == nil {
		return nil
	}
	e.intr.mu.Lock()
	defer e.intr.mu.Unlock()
	return e.intr.caught
}

// exitCodeFor is the exit status of a command ended by sig, as shells
// report it: 128 + the signal's number (130 for SIGINT, 143 for SIGTERM).
func exitCodeFor(sig os.Signal) int {
	if s, ok := sig.(syscall.Signal); ok {
		return 128 + int(s)
	}
	return 128 + int(syscall.SIGINT)
}
