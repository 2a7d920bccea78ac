package main

import (
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
	return &progress{e: e, json: asJSON, live: !asJSON && e.stdoutTTY && !e.noVT, clock: clk, running: map[string]*runningStep{}}
}

func (p *progress) event(ev executor.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.json {
		writeEvent(p.e.stdout, ev)
		return
	}
	if !p.track(ev) {
		return
	}
	if line, ok := eventLine(ev); ok {
		p.println(line)
	}
}

// track updates the running steps for ev and reports whether ev gets a
// line of its own: a progress event of a few percent only redraws the
// status line.
func (p *progress) track(ev executor.Event) bool {
	r := p.running[ev.Step]
	switch ev.Type {
	case executor.EventStarted:
		p.running[ev.Step] = &runningStep{percent: -1, started: ev.Time, remaining: ev.Remaining, lastShown: -100}
	case executor.EventProgress:
		if r == nil {
			return false
		}
		r.percent = ev.Percent
		if ev.Percent-r.lastShown < 10 && ev.Percent < 100 {
			p.redraw()
			return false
		}
		r.lastShown = ev.Percent
	case executor.EventStillRunning:
		if r != nil {
			r.remaining = ev.Remaining
		}
	case executor.EventSucceeded, executor.EventFailed, executor.EventUnknown, executor.EventDetached:
		delete(p.running, ev.Step)
	}
	return true
}

// eventLine is the line printed for ev; false for events that print none.
func eventLine(ev executor.Event) (string, bool) {
	switch ev.Type {
	case executor.EventStarted:
		line := fmt.Sprintf("%s: started", ev.Step)
		if ev.Attempt > 1 {
			line += fmt.Sprintf(" (attempt %d)", ev.Attempt)
		}
		if ev.Remaining > 0 {
			line += fmt.Sprintf(", expected to take %s", render.Duration(ev.Remaining))
		}
		return line, true
	case executor.EventHandle:
		return fmt.Sprintf("%s: remote operation %s", ev.Step, ev.Message), true
	case executor.EventProgress:
		line := fmt.Sprintf("%s: %.0f%%", ev.Step, ev.Percent)
		if ev.Message != "" {
			line += " " + ev.Message
		}
		return line, true
	case executor.EventStillRunning:
		return fmt.Sprintf("%s: still running (%s elapsed, ~%s left)", ev.Step, render.Duration(ev.Elapsed), render.Duration(ev.Remaining)), true
	case executor.EventRetrying:
		return fmt.Sprintf("%s: retrying: %s", ev.Step, ev.Message), true
	case executor.EventSucceeded:
		return fmt.Sprintf("%s: succeeded after %s", ev.Step, render.Duration(ev.Elapsed)), true
	case executor.EventFailed:
		return fmt.Sprintf("%s: failed: %s", ev.Step, ev.Message), true
	case executor.EventUnknown:
		return fmt.Sprintf("%s: outcome unknown: %s", ev.Step, ev.Message), true
	case executor.EventDetached:
		return fmt.Sprintf("%s: detached: %s", ev.Step, ev.Message), true
	case executor.EventSkipped:
		return fmt.Sprintf("%s: skipped, because %s", ev.Step, ev.Message), true
	case executor.EventNotStarted:
		return fmt.Sprintf("%s: not started: %s", ev.Step, ev.Message), true
	}
	return "", false
}

// note prints a message from the CLI itself.
func (p *progress) note(msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.json {
		writeEvent(p.e.stdout, noteEvent{Type: "note", Time: p.clock.Now().UTC(), Message: msg})
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
	line := "⏳ " + strings.Join(parts, " | ")
	if p.e.width != nil {
		// One column is kept free: a line that fills the last column
		// leaves some terminals about to wrap, and the next redraw would
		// then leave a stale copy behind.
		line = fitWidth(line, p.e.width()-1)
	}
	fmt.Fprintf(p.e.stdout, "\r\x1b[K%s", line)
	p.status = true
}

// fitWidth cuts s to at most cols terminal columns, ending it with "…" when
// cut. Wide characters (east Asian scripts, emoji) count as two columns;
// cols <= 0 means the width is unknown, and s is kept whole.
func fitWidth(s string, cols int) string {
	if cols <= 0 || columns(s) <= cols {
		return s
	}
	var b strings.Builder
	used := 0
	for _, r := range s {
		w := runeColumns(r)
		if used+w > cols-1 {
			break
		}
		b.WriteRune(r)
		used += w
	}
	b.WriteString("…")
	return b.String()
}

// columns returns how many terminal columns s takes.
func columns(s string) int {
	n := 0
	for _, r := range s {
		n += runeColumns(r)
	}
	return n
}

// runeColumns returns 2 for the wide characters (Unicode's East Asian Wide
// and Fullwidth blocks, emoji such as ⏳) and 1 for the others: an estimate
// that errs wide, so that a line is cut rather than wrapped.
func runeColumns(r rune) int {
	for _, w := range wideRunes {
		if r >= w[0] && r <= w[1] {
			return 2
		}
	}
	return 1
}

var wideRunes = [][2]rune{
	{0x1100, 0x115F}, {0x231A, 0x231B}, {0x23E9, 0x23EC}, {0x23F0, 0x23F3}, {0x25FD, 0x25FE},
	{0x2600, 0x27BF}, {0x2E80, 0xA4CF}, {0xAC00, 0xD7A3}, {0xF900, 0xFAFF}, {0xFE30, 0xFE4F},
	{0xFF00, 0xFF60}, {0xFFE0, 0xFFE6}, {0x1F000, 0x1FAFF}, {0x20000, 0x3FFFD},
}

func (p *progress) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.live && p.status {
		fmt.Fprint(p.e.stdout, "\r\x1b[K")
		p.status = false
	}
}
