package executor

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/runbook-dev/runbook/addrs"
	"github.com/runbook-dev/runbook/clock"
	"github.com/runbook-dev/runbook/executor/dag"
	"github.com/runbook-dev/runbook/executor/journal"
	"github.com/runbook-dev/runbook/executor/plan"
	"github.com/runbook-dev/runbook/internal/durfmt"
	"github.com/runbook-dev/runbook/lang"
	"github.com/zclconf/go-cty/cty"
)

// ApplyOptions are the inputs of Apply.
type ApplyOptions struct {
	Runbook  *lang.Runbook
	Planned  *Planned
	Registry *Registry
	Clock    clock.Clock
	// Journal receives every step record; Apply writes run_ended but not
	// run_started, which the caller writes with who and what.
	Journal *journal.Journal
	// Parallelism bounds how many steps run at once (10 when zero).
	Parallelism int
	// ContinueOnFailure lets independent steps go on after a failure;
	// otherwise nothing new starts after the first one.
	ContinueOnFailure bool
	// Window is the change window steps must fit in; nil when the runbook
	// has none or the operator overrode it.
	Window *lang.Window
	// Prior is the journal of the run being resumed, or nil.
	Prior *journal.Run
	// Events receives progress events; it is called from many goroutines
	// and must not block for long.
	Events func(Event)
	// Stop is closed on the first interrupt: nothing new starts, running
	// steps go on to a safe point.
	Stop <-chan struct{}
	// Fingerprint returns the runbook-keyed HMAC of a sensitive value.
	Fingerprint func([]byte) string
	// StillRunningEvery is the interval of still-running events (one
	// minute when zero).
	StillRunningEvery time.Duration
}

// EventType is the kind of an apply event.
type EventType string

// The event types.
const (
	EventStarted      EventType = "started"
	EventProgress     EventType = "progress"
	EventStillRunning EventType = "still_running"
	EventRetrying     EventType = "retrying"
	EventSucceeded    EventType = "succeeded"
	EventFailed       EventType = "failed"
	EventSkipped      EventType = "skipped"
	EventNotStarted   EventType = "not_started"
	EventUnchanged    EventType = "unchanged"
	EventDetached     EventType = "detached"
	EventUnknown      EventType = "unknown"
	EventHandle       EventType = "handle"
)

// Event is something that happened during apply.
type Event struct {
	Type    EventType `json:"type"`
	Time    time.Time `json:"time"`
	Step    string    `json:"step,omitempty"`
	Attempt int       `json:"attempt,omitempty"`
	// Percent is the step's progress, or -1 when unknown.
	Percent float64 `json:"percent"`
	Message string  `json:"message,omitempty"`
	// Elapsed is how long the step has been running.
	Elapsed time.Duration `json:"elapsed,omitempty"`
	// Remaining is the expected time left, when it can be told.
	Remaining time.Duration `json:"remaining,omitempty"`
}

// Outcome is what became of a step in an apply.
type Outcome string

// The outcomes.
const (
	OutcomeSucceeded  Outcome = "succeeded"
	OutcomeFailed     Outcome = "failed"
	OutcomeSkipped    Outcome = "skipped"
	OutcomeNotStarted Outcome = "not started"
	OutcomeUnchanged  Outcome = "unchanged"
	// OutcomeNotTargeted: the plan left the step out (-target).
	OutcomeNotTargeted Outcome = "not targeted"
	OutcomeDetached    Outcome = "detached"
	// OutcomeUnknown: the step lost track of a remote operation that may
	// still be running; it stays in flight in the journal.
	OutcomeUnknown Outcome = "outcome unknown"
)

// StepResult is the outcome of one step.
type StepResult struct {
	Outcome Outcome
	Err     error
	// Reason explains a skip or a step not started.
	Reason   string
	Attempts int
	Outputs  cty.Value
	Result   map[string]string
}

// ApplyResult is the outcome of Apply.
type ApplyResult struct {
	Steps map[string]*StepResult
	// Stopped says why the run ended before every step ran (window,
	// interrupt, failure); empty when it ran to the end.
	Stopped string
	// Status is what run_ended recorded.
	Status journal.Status
}

// OK reports whether every step succeeded or was unchanged.
func (r *ApplyResult) OK() bool {
	for _, s := range r.Steps {
		if s.Outcome != OutcomeSucceeded && s.Outcome != OutcomeUnchanged && s.Outcome != OutcomeNotTargeted {
			return false
		}
	}
	return true
}

// Addresses returns the steps with outcome o, sorted.
func (r *ApplyResult) Addresses(o Outcome) []string {
	var out []string
	for a, s := range r.Steps {
		if s.Outcome == o {
			out = append(out, a)
		}
	}
	sort.Strings(out)
	return out
}

var (
	errInterrupted = errors.New("interrupted: no new step starts")
	errFailureStop = errors.New("a step failed: no new step starts (-on-failure stop)")
)

// notStartedError is a step that was not started: the change window does
// not leave time for it, or the journal cannot be written.
type notStartedError struct{ msg string }

func (e *notStartedError) Error() string { return e.msg }

// detachedError marks a step left running on the remote side when apply
// detached from it.
type detachedError struct{ err error }

func (e *detachedError) Error() string { return "detached: " + e.err.Error() }

// applier is the state of one Apply.
type applier struct {
	opts     ApplyOptions
	ctxBase  *hcl.EvalContext
	remain   map[string]time.Duration
	mu       sync.Mutex
	results  map[string]*StepResult
	outputs  map[string]cty.Value
	failed   bool
	journalE error
}

// Apply runs the planned changes: a step starts once everything it depends
// on succeeded, at most Parallelism at a time, only inside the change window
// and only if it and the critical path behind it fit before the window
// closes. Every side effect is announced in the journal before it happens
// and its outcome recorded after.
func Apply(ctx context.Context, opts ApplyOptions) *ApplyResult {
	if opts.Clock == nil {
		// Step types wait and read the time only through the request's
		// clock; there is no silent fallback to the real one.
		panic("executor: ApplyOptions.Clock is nil")
	}
	if opts.Parallelism <= 0 {
		opts.Parallelism = DefaultParallelism
	}
	if opts.StillRunningEvery <= 0 {
		opts.StillRunningEvery = time.Minute
	}
	if opts.Events == nil {
		opts.Events = func(Event) {}
	}
	a := &applier{
		opts:    opts,
		ctxBase: opts.Runbook.EvalContext(nil, cty.NilVal),
		results: map[string]*StepResult{},
		outputs: map[string]cty.Value{},
	}
	a.computeRemaining()
	g := opts.Planned.Graph

	walk, _ := g.Walk(ctx, dag.WalkOptions{
		Parallelism:       opts.Parallelism,
		ContinueOnFailure: true, // stopping is decided in gate, so a window refusal does not stop others
		Gate:              a.gate,
		Visit:             a.visit,
	})

	res := &ApplyResult{Steps: a.results}
	var windowReasons []string
	for addr, o := range walk.Outcomes {
		if _, done := a.results[addr]; done {
			continue
		}
		switch o.Status {
		case dag.Skipped:
			cause := o.Cause
			if r := a.results[cause]; r != nil && (r.Outcome == OutcomeNotStarted || r.Outcome == OutcomeUnknown || r.Outcome == OutcomeDetached) {
				res.Steps[addr] = &StepResult{Outcome: OutcomeNotStarted, Reason: "waits for " + cause}
			} else {
				res.Steps[addr] = &StepResult{Outcome: OutcomeSkipped, Reason: cause + " failed"}
			}
		default:
			reason := "the run stopped before it"
			if walk.Stopped != nil {
				reason = walk.Stopped.Error()
			}
			res.Steps[addr] = &StepResult{Outcome: OutcomeNotStarted, Reason: reason}
		}
	}
	for addr, r := range res.Steps {
		switch r.Outcome {
		case OutcomeSkipped:
			a.queue(journal.Record{Type: journal.StepResult, Step: addr, Status: journal.Skipped, Reason: r.Reason})
			a.emit(Event{Type: EventSkipped, Step: addr, Message: r.Reason})
		case OutcomeNotStarted:
			a.emit(Event{Type: EventNotStarted, Step: addr, Message: r.Reason})
			var we *notStartedError
			if errors.As(r.Err, &we) && a.journalE == nil {
				windowReasons = append(windowReasons, we.msg)
			}
		}
	}
	sort.Strings(windowReasons)
	windowReasons = slices.Compact(windowReasons)
	res.Status = journal.Succeeded
	switch {
	case len(res.Addresses(OutcomeFailed)) > 0 || len(res.Addresses(OutcomeSkipped)) > 0:
		res.Status = journal.Failed
		res.Stopped = "a step failed"
	case len(res.Addresses(OutcomeDetached)) > 0 || len(res.Addresses(OutcomeNotStarted)) > 0 || len(res.Addresses(OutcomeUnknown)) > 0:
		res.Status = journal.Stopped
		switch {
		case walk.Stopped != nil && errors.Is(walk.Stopped, errInterrupted):
			res.Stopped = "interrupted"
		case a.journalE != nil:
			res.Stopped = "the journal cannot be written: " + a.journalE.Error()
		case len(windowReasons) > 0:
			res.Stopped = "change window: " + strings.Join(windowReasons, "; ")
		case ctx.Err() != nil:
			res.Stopped = "detached"
		case len(res.Addresses(OutcomeUnknown)) > 0:
			res.Stopped = "lost track of a remote operation that may still be running"
		default:
			res.Stopped = "stopped"
		}
	}
	a.record(journal.Record{Type: journal.RunEnded, Status: res.Status, Reason: res.Stopped})
	return res
}

// computeRemaining computes, for each step that will change something, the
// critical path from its start to the end of the run.
func (a *applier) computeRemaining() {
	durations := map[string]time.Duration{}
	for _, c := range a.opts.Planned.Changes {
		if c.Action.Changes() && !a.priorDone(c.Address) {
			durations[c.Address] = c.ExpectedDuration
		}
	}
	cp, _ := a.opts.Planned.Graph.CriticalPath(func(addr string) time.Duration { return durations[addr] })
	a.remain = cp.Remaining
}

func (a *applier) priorDone(addr string) bool {
	if a.opts.Prior == nil {
		return false
	}
	s := a.opts.Prior.Steps[addr]
	return s != nil && !s.InFlight && s.Status == journal.Succeeded
}

func (a *applier) gate(addr string) error {
	select {
	case <-a.opts.Stop:
		return errInterrupted
	default:
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.journalE != nil {
		return fmt.Errorf("the journal cannot be written, so no new step starts: %w", a.journalE)
	}
	if a.failed && !a.opts.ContinueOnFailure {
		return errFailureStop
	}
	return nil
}

func (a *applier) emit(e Event) {
	if e.Time.IsZero() {
		e.Time = a.opts.Clock.Now()
	}
	if e.Percent == 0 && e.Type != EventProgress {
		e.Percent = -1
	}
	a.opts.Events(e)
}

// record appends to the journal and waits until the record is on stable
// storage; a failure is remembered so that no new step starts, and
// returned. Intents and handles go through record: they must be on disk
// before the side effect they announce.
func (a *applier) record(rec journal.Record) error {
	return a.write(rec, true)
}

// queue appends to the journal without waiting for the fsync: for results
// and progress, which the next durable record (or the end of the run)
// carries to disk. Losing one in a crash only makes a resume re-check the
// step, which every step type must handle anyway.
func (a *applier) queue(rec journal.Record) error {
	return a.write(rec, false)
}

func (a *applier) write(rec journal.Record, wait bool) error {
	if a.opts.Journal == nil {
		return nil
	}
	var err error
	if wait {
		err = a.opts.Journal.Append(rec)
	} else {
		err = a.opts.Journal.Queue(rec)
	}
	if err != nil {
		a.mu.Lock()
		if a.journalE == nil {
			a.journalE = err
		}
		a.mu.Unlock()
	}
	return err
}

func (a *applier) finish(addr string, r *StepResult) error {
	a.mu.Lock()
	a.results[addr] = r
	if r.Outputs != cty.NilVal {
		a.outputs[addr] = r.Outputs
	}
	if r.Outcome == OutcomeFailed {
		a.failed = true
	}
	a.mu.Unlock()
	switch r.Outcome {
	case OutcomeSucceeded, OutcomeUnchanged, OutcomeNotTargeted:
		return nil
	case OutcomeNotStarted:
		return &notStartedError{msg: r.Reason}
	}
	if r.Err != nil {
		return r.Err
	}
	return errors.New(string(r.Outcome))
}

func (a *applier) visit(ctx context.Context, addr string) error {
	p := a.opts.Planned
	change := p.Change(addr)
	planned := p.outputs[addr]
	if change != nil && change.Action == plan.Skip {
		return a.finish(addr, &StepResult{Outcome: OutcomeNotTargeted, Outputs: planned, Reason: change.Reason})
	}
	if change == nil || !change.Action.Changes() {
		a.emit(Event{Type: EventUnchanged, Step: addr})
		return a.finish(addr, &StepResult{Outcome: OutcomeUnchanged, Outputs: planned})
	}
	if a.priorDone(addr) {
		a.emit(Event{Type: EventUnchanged, Step: addr, Message: "done in the run being resumed"})
		return a.finish(addr, &StepResult{Outcome: OutcomeSucceeded, Outputs: planned, Reason: "done in the run being resumed"})
	}
	if msg := a.checkWindow(addr, change); msg != "" {
		r := &StepResult{Outcome: OutcomeNotStarted, Reason: msg, Err: &notStartedError{msg}}
		a.finish(addr, r)
		return r.Err
	}

	rb := a.opts.Runbook
	s := rb.Steps[addrs.MustParseStep(addr).Name]
	t, _ := a.opts.Registry.Get(s.Type)
	config, err := a.config(s, t, addr)
	if err != nil {
		return a.finish(addr, &StepResult{Outcome: OutcomeFailed, Err: err})
	}
	info := t.Info(config)
	timeout := s.Timeout
	switch {
	case timeout > 0:
	case s.ExpectedDuration > 0:
		// An operator who says how long a step takes gets a timeout to
		// match: twice that, and at least an hour.
		timeout = max(2*s.ExpectedDuration, time.Hour)
	default:
		timeout = info.Timeout
	}
	attempts := 1
	if s.Retry != nil {
		attempts = s.Retry.Attempts
	}

	var prior *journal.Step
	if a.opts.Prior != nil {
		if ps := a.opts.Prior.Steps[addr]; ps != nil && ps.InFlight {
			prior = ps
		}
	}
	start := a.opts.Clock.Now()
	var resp *ApplyResponse
	attempt := 0
	handle := &lastHandle{}
	if prior != nil {
		attempt = prior.Attempt
		handle.set(prior.Handle)
	}
	for n := 1; n <= attempts; n++ {
		attempt++
		if n > 1 {
			delay := s.Retry.DelayBefore(n)
			a.emit(Event{Type: EventRetrying, Step: addr, Attempt: attempt, Message: fmt.Sprintf("attempt %d of %d in %s: %v", n, attempts, delay, resp.Err)})
			if err := a.opts.Clock.Sleep(ctx, delay); err != nil {
				return a.detach(addr, err)
			}
		}
		// A retry of a step that recorded a remote handle re-attaches to
		// that operation rather than starting another.
		resuming := prior != nil && n == 1 || n > 1 && handle.get() != ""
		if !resuming {
			if err := a.record(journal.Record{Type: journal.StepIntent, Step: addr, Attempt: attempt, Action: change.Action.String(), Reason: change.Reason}); err != nil {
				r := &StepResult{Outcome: OutcomeNotStarted, Reason: "the journal cannot be written: " + err.Error()}
				r.Err = &notStartedError{r.Reason}
				a.finish(addr, r)
				return r.Err
			}
		} else {
			a.record(journal.Record{Type: journal.Note, Step: addr, Attempt: attempt, Reason: "re-attaching to the step of the run being resumed"})
		}
		a.emit(Event{Type: EventStarted, Step: addr, Attempt: attempt, Remaining: change.ExpectedDuration})
		resp = a.attempt(ctx, &attemptRun{step: s, t: t, config: config, change: change, n: attempt,
			timeout: timeout, start: start, resuming: resuming, handle: handle})
		if ctx.Err() != nil && resp.Err != nil {
			return a.detach(addr, resp.Err)
		}
		if resp.Err != nil && resp.Unknown {
			// Nothing is journalled: the step stays in flight with its
			// handle, for the next apply to re-attach.
			a.emit(Event{Type: EventUnknown, Step: addr, Attempt: attempt, Message: resp.Err.Error()})
			return a.finish(addr, &StepResult{Outcome: OutcomeUnknown, Err: resp.Err, Attempts: attempt,
				Reason: resp.Err.Error()})
		}
		if resp.Err == nil {
			break
		}
		// Only the step type knows whether an error is worth another try
		// (a refused logon is not: it locks accounts).
		var jerr *journalError
		if errors.As(resp.Err, &jerr) || !resp.Retryable {
			break
		}
	}
	if resp.Err != nil {
		a.queue(journal.Record{Type: journal.StepResult, Step: addr, Attempt: attempt, Status: journal.Failed, Error: resp.Err.Error()})
		a.emit(Event{Type: EventFailed, Step: addr, Attempt: attempt, Message: resp.Err.Error(), Elapsed: a.opts.Clock.Since(start)})
		return a.finish(addr, &StepResult{Outcome: OutcomeFailed, Err: resp.Err, Attempts: attempt})
	}
	outputs := resp.Outputs
	if outputs == cty.NilVal {
		outputs = planned
	}
	if err := a.postconditions(s, outputs); err != nil {
		a.queue(journal.Record{Type: journal.StepResult, Step: addr, Attempt: attempt, Status: journal.Failed, Error: err.Error()})
		a.emit(Event{Type: EventFailed, Step: addr, Attempt: attempt, Message: err.Error()})
		return a.finish(addr, &StepResult{Outcome: OutcomeFailed, Err: err, Attempts: attempt, Outputs: outputs})
	}
	result := declaredResult(t, resp.Result)
	if err := a.queue(journal.Record{Type: journal.StepResult, Step: addr, Attempt: attempt, Status: journal.Succeeded, Result: result}); err != nil {
		// The change happened but could not be recorded: say so plainly.
		err = fmt.Errorf("the step succeeded but its result could not be journalled: %w", err)
		a.emit(Event{Type: EventFailed, Step: addr, Message: err.Error()})
		return a.finish(addr, &StepResult{Outcome: OutcomeFailed, Err: err, Attempts: attempt, Outputs: outputs})
	}
	a.emit(Event{Type: EventSucceeded, Step: addr, Attempt: attempt, Percent: 100, Elapsed: a.opts.Clock.Since(start)})
	return a.finish(addr, &StepResult{Outcome: OutcomeSucceeded, Attempts: attempt, Outputs: outputs, Result: result})
}

// declaredResult returns the part of result that step type t declared
// safe to journal, nil when that is nothing.
func declaredResult(t StepType, result map[string]string) map[string]string {
	var kept map[string]string
	for _, k := range t.ResultKeys() {
		if v, ok := result[k]; ok {
			if kept == nil {
				kept = map[string]string{}
			}
			kept[k] = v
		}
	}
	return kept
}

// lastHandle is the last remote handle a step journalled.
type lastHandle struct {
	mu sync.Mutex
	h  string
}

func (l *lastHandle) set(h string) { l.mu.Lock(); l.h = h; l.mu.Unlock() }
func (l *lastHandle) get() string  { l.mu.Lock(); defer l.mu.Unlock(); return l.h }

// journalError is a handle that could not be journalled.
type journalError struct{ err error }

func (e *journalError) Error() string { return "journal: " + e.err.Error() }

// attemptRun is one attempt of a step: what the applier decided before
// calling the step type.
type attemptRun struct {
	step   *lang.Step
	t      StepType
	config cty.Value
	change *plan.Change
	// n counts the step's attempts from 1, across resumed runs.
	n       int
	timeout time.Duration
	// start is when the step's first attempt in this run began.
	start time.Time
	// resuming re-attaches to the operation of handle instead of starting
	// one.
	resuming bool
	handle   *lastHandle
}

// attempt runs one attempt of a step under its timeout, with still-running
// events while it runs.
func (a *applier) attempt(ctx context.Context, at *attemptRun) *ApplyResponse {
	addr, attempt, change, start, timeout, handle, t := at.step.Address().String(), at.n, at.change, at.start, at.timeout, at.handle, at.t
	actx, cancel := ctx, context.CancelFunc(func() {})
	if timeout > 0 {
		actx, cancel = clock.WithTimeout(ctx, a.opts.Clock, timeout)
	}
	defer cancel()

	var pmu sync.Mutex
	percent := -1.0
	// The still-running reporter ends before the attempt returns, so that
	// no event about the step follows its result.
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	defer func() { close(done); wg.Wait() }()
	go func() {
		defer wg.Done()
		for {
			tm := a.opts.Clock.NewTimer(a.opts.StillRunningEvery)
			select {
			case <-done:
				tm.Stop()
				return
			case <-tm.C():
			}
			pmu.Lock()
			pc := percent
			pmu.Unlock()
			elapsed := a.opts.Clock.Since(start)
			remaining := change.ExpectedDuration - elapsed
			if pc > 0 && pc < 100 {
				remaining = time.Duration(float64(elapsed) * (100 - pc) / pc)
			}
			if remaining < 0 {
				remaining = 0
			}
			a.emit(Event{Type: EventStillRunning, Step: addr, Attempt: attempt, Percent: pc, Elapsed: elapsed, Remaining: remaining})
		}
	}()

	req := ApplyRequest{
		Address: at.step.Address(), Step: at.step, Config: at.config, Runbook: a.opts.Runbook, Clock: a.opts.Clock,
		Planned: change, Attempt: attempt, Fingerprint: a.opts.Fingerprint,
		Progress: func(p Progress) {
			pmu.Lock()
			last := percent
			percent = p.Percent
			pmu.Unlock()
			if int(p.Percent) != int(last) {
				a.queue(journal.Record{Type: journal.StepProgress, Step: addr, Attempt: attempt, Percent: clampPercent(p.Percent)})
			}
			a.emit(Event{Type: EventProgress, Step: addr, Attempt: attempt, Percent: p.Percent, Message: p.Message, Elapsed: a.opts.Clock.Since(start)})
		},
		Handle: func(h string) error {
			if err := a.record(journal.Record{Type: journal.StepHandle, Step: addr, Attempt: attempt, Handle: h}); err != nil {
				return &journalError{err}
			}
			handle.set(h)
			a.emit(Event{Type: EventHandle, Step: addr, Attempt: attempt, Message: h})
			return nil
		},
	}
	var resp *ApplyResponse
	if at.resuming {
		resp = t.Resume(actx, &ResumeRequest{ApplyRequest: req, Handle: handle.get()})
	} else {
		resp = t.Apply(actx, &req)
	}
	if resp == nil {
		resp = &ApplyResponse{Err: fmt.Errorf("step type %s returned no response", t.Name())}
	}
	if resp.Err != nil && ctx.Err() == nil && errors.Is(context.Cause(actx), context.DeadlineExceeded) {
		resp.Err = fmt.Errorf("timed out after %s: %w", durfmt.Format(timeout), resp.Err)
		resp.Retryable = true
	}
	return resp
}

func clampPercent(p float64) int {
	switch {
	case p < 0:
		return 0
	case p > 100:
		return 100
	}
	return int(p)
}

// detach leaves a step as it is: in flight in the journal (its intent and
// handle recorded, no result), so that a resumed run re-attaches to it.
func (a *applier) detach(addr string, err error) error {
	r := &StepResult{Outcome: OutcomeDetached, Err: &detachedError{err}, Reason: "apply detached while the step was running; it may still be running on the stamp"}
	a.emit(Event{Type: EventDetached, Step: addr, Message: r.Reason})
	a.finish(addr, r)
	return r.Err
}

// checkWindow returns why a step may not start now, or "".
func (a *applier) checkWindow(addr string, change *plan.Change) string {
	w := a.opts.Window
	if w == nil {
		return ""
	}
	now := a.opts.Clock.Now()
	open, close, ok := w.Occurrence(now)
	if !ok {
		return fmt.Sprintf("window %q has closed", w.Name)
	}
	if now.Before(open) {
		return fmt.Sprintf("window %q is not open yet (it opens %s)", w.Name, open.UTC().Format(time.RFC3339))
	}
	need := a.remain[addr]
	if need < change.ExpectedDuration {
		need = change.ExpectedDuration
	}
	if left := close.Sub(now); need > left {
		return fmt.Sprintf("%s needs %s with the steps after it, but window %q closes in %s", addr, durfmt.Format(need), w.Name, durfmt.Format(left.Round(time.Minute)))
	}
	return ""
}

// config decodes a step's body with the outputs of the steps it depends on,
// as they came out of this apply.
func (a *applier) config(s *lang.Step, t StepType, addr string) (cty.Value, error) {
	vals := map[string]cty.Value{}
	a.mu.Lock()
	for _, d := range a.opts.Planned.Graph.Dependencies(addr) {
		if v, ok := a.outputs[d]; ok {
			vals[addrs.MustParseStep(d).Name] = v
		}
	}
	a.mu.Unlock()
	ectx := a.ctxBase.NewChild()
	ectx.Variables = map[string]cty.Value{"step": objectVal(vals)}
	config, diags := DecodeStep(s, t, ectx)
	if diags.HasErrors() {
		return cty.NilVal, fmt.Errorf("%s: %s", addr, diags.Error())
	}
	return config, nil
}

// postconditions checks a step's postconditions against its outputs.
func (a *applier) postconditions(s *lang.Step, outputs cty.Value) error {
	if len(s.Postconditions) == 0 {
		return nil
	}
	ectx := a.ctxBase.NewChild()
	ectx.Variables = map[string]cty.Value{"self": outputs}
	for _, c := range s.Postconditions {
		res, msg, diags := lang.EvalCondition(ectx, c.Condition, c.ErrorMessage)
		if diags.HasErrors() {
			return fmt.Errorf("postcondition at %s: %s", c.DeclRange, diags.Error())
		}
		if res == lang.CheckFailed {
			return fmt.Errorf("postcondition at %s failed: %s", c.DeclRange, msg)
		}
	}
	return nil
}
