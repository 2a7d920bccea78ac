package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/runbook-dev/runbook/clock"
	"github.com/runbook-dev/runbook/executor"
	"github.com/runbook-dev/runbook/executor/render"
)

// progress prints apply events: JSON lines with -json; otherwise a line per
// event and, on a terminal, a live status line of the running steps.
type progress struct {
	e       *env
	json    bool
	live    bool
	clock   clock.Clock
	mu      sync.Mutex
	running map[string]*runningStep
	status  bool // a status line is on screen
}

type runningStep struct {
	percent   float64
	started   time.Time
	remaining time.Duration
	lastShown float64
}

func newProgress(e *env, asJSON bool, clk clock.Clock) *progress {
	return &progress{e: e, json: asJSON, live: !asJSON && e.stdoutTTY, clock: clk, running: map[string]*runningStep{}}
}

func (p *progress) event(ev executor.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.json {
		b, _ := json.Marshal(struct {
			executor.Event
			Elapsed   string `json:"elapsed,omitempty"`
			Remaining string `json:"remaining,omitempty"`
		}{ev, durationOrEmpty(ev.Elapsed), durationOrEmpty(ev.Remaining)})
		fmt.Fprintf(p.e.stdout, "%s\n", b)
		return
	}
	r := p.running[ev.Step]
	var line string
	switch ev.Type {
	case executor.EventStarted:
		p.running[ev.Step] = &runningStep{percent: -1, started: ev.Time, remaining: ev.Remaining, lastShown: -100}
		line = fmt.Sprintf("%s: started", ev.Step)
		if ev.Attempt > 1 {
			line += fmt.Sprintf(" (attempt %d)", ev.Attempt)
		}
		if ev.Remaining > 0 {
			line += fmt.Sprintf(", expected to take %s", render.Duration(ev.Remaining))
		}
	case executor.EventHandle:
		line = fmt.Sprintf("%s: remote operation %s", ev.Step, ev.Message)
	case executor.EventProgress:
		if r == nil {
			return
		}
		r.percent = ev.Percent
		if ev.Percent-r.lastShown < 10 && ev.Percent < 100 {
			p.redraw()
			return
		}
		r.lastShown = ev.Percent
		line = fmt.Sprintf("%s: %.0f%%", ev.Step, ev.Percent)
		if ev.Message != "" {
			line += " " + ev.Message
		}
	case executor.EventStillRunning:
		line = fmt.Sprintf("%s: still running (%s elapsed, ~%s left)", ev.Step, render.Duration(ev.Elapsed), render.Duration(ev.Remaining))
		if r != nil {
			r.remaining = ev.Remaining
		}
	case executor.EventRetrying:
		line = fmt.Sprintf("%s: retrying: %s", ev.Step, ev.Message)
	case executor.EventSucceeded:
		delete(p.running, ev.Step)
		line = fmt.Sprintf("%s: succeeded after %s", ev.Step, render.Duration(ev.Elapsed))
	case executor.EventFailed:
		delete(p.running, ev.Step)
		line = fmt.Sprintf("%s: failed: %s", ev.Step, ev.Message)
	case executor.EventUnknown:
		delete(p.running, ev.Step)
		line = fmt.Sprintf("%s: outcome unknown: %s", ev.Step, ev.Message)
	case executor.EventDetached:
		delete(p.running, ev.Step)
		line = fmt.Sprintf("%s: detached: %s", ev.Step, ev.Message)
	case executor.EventSkipped:
		line = fmt.Sprintf("%s: skipped, because %s", ev.Step, ev.Message)
	case executor.EventNotStarted:
		line = fmt.Sprintf("%s: not started: %s", ev.Step, ev.Message)
	case executor.EventUnchanged:
		return
	default:
		return
	}
	p.println(line)
}

// note prints a message from the CLI itself.
func (p *progress) note(msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.json {
		b, _ := json.Marshal(map[string]string{"type": "note", "message": msg})
		fmt.Fprintf(p.e.stdout, "%s\n", b)
		return
	}
	p.println(msg)
}

func (p *progress) println(line string) {
	if p.live && p.status {
		fmt.Fprint(p.e.stdout, "\r\x1b[K")
		p.status = false
	}
	fmt.Fprintln(p.e.stdout, line)
	p.redraw()
}

// redraw rewrites the live status line: every running step with its
// progress and expected time left.
func (p *progress) redraw() {
	if !p.live || len(p.running) == 0 {
		return
	}
	names := make([]string, 0, len(p.running))
	for n := range p.running {
		names = append(names, n)
	}
	sort.Strings(names)
	parts := make([]string, 0, len(names))
	now := p.clock.Now()
	for _, n := range names {
		r := p.running[n]
		s := n + " " + render.Duration(now.Sub(r.started))
		if r.percent >= 0 {
			s += fmt.Sprintf(" %.0f%%", r.percent)
		}
		parts = append(parts, s)
	}
	fmt.Fprintf(p.e.stdout, "\r\x1b[K⏳ %s", strings.Join(parts, " | "))
	p.status = true
}

func (p *progress) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.live && p.status {
		fmt.Fprint(p.e.stdout, "\r\x1b[K")
		p.status = false
	}
}

func durationOrEmpty(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	return d.String()
}
