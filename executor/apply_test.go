package executor_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/runbook-dev/runbook/clock"
	"github.com/runbook-dev/runbook/executor"
	"github.com/runbook-dev/runbook/executor/journal"
	"github.com/runbook-dev/runbook/executor/steptest"
	"github.com/runbook-dev/runbook/lang"
	"github.com/zclconf/go-cty/cty"
)

// sleeper is a step type whose apply waits for its `sleep` attribute on the
// clock, records how many steps run at once, and fails when its value is
// "fail".
type sleeper struct {
	steptest.Type
	running, peak atomic.Int32
	mu            sync.Mutex
	order         []string
}

func newSleeper() *sleeper {
	s := &sleeper{}
	s.ApplyFn = func(ctx context.Context, req *executor.ApplyRequest) *executor.ApplyResponse {
		n := s.running.Add(1)
		defer s.running.Add(-1)
		for {
			p := s.peak.Load()
			if n <= p || s.peak.CompareAndSwap(p, n) {
				break
			}
		}
		s.mu.Lock()
		s.order = append(s.order, req.Address.String())
		s.mu.Unlock()
		if d := str(req.Config, "sleep"); d != "" {
			dur, _ := time.ParseDuration(d)
			if err := req.Clock.Sleep(ctx, dur); err != nil {
				return &executor.ApplyResponse{Err: err}
			}
		}
		if str(req.Config, "value") == "fail" {
			return &executor.ApplyResponse{Err: errors.New("boom")}
		}
		return &executor.ApplyResponse{Outputs: cty.ObjectVal(map[string]cty.Value{"value": cty.StringVal(str(req.Config, "value"))})}
	}
	return s
}

func str(v cty.Value, attr string) string {
	a, _ := v.GetAttr(attr).Unmark()
	if a.IsNull() || !a.IsKnown() {
		return ""
	}
	return a.AsString()
}

type run struct {
	rb      *lang.Runbook
	planned *executor.Planned
	res     *executor.ApplyResult
	journal string
	events  []executor.Event
}

// apply plans and applies src with typ on the real clock; call it inside a
// synctest bubble so that the clock is virtual.
func applySrc(t *testing.T, src string, typ executor.StepType, mod func(*executor.ApplyOptions)) *run {
	t.Helper()
	rb, diags := lang.Load(fsMap(src), ".", lang.Options{PlanTime: time.Now(), StepTypes: []string{typ.Name()}})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	reg := executor.NewRegistry(typ)
	planned, diags := executor.Plan(context.Background(), executor.PlanOptions{Runbook: rb, Registry: reg, Clock: clock.Real, Key: []byte("k")})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	dir := t.TempDir()
	j, err := journal.Create(dir, "run1", clock.Real)
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Append(journal.Record{Type: journal.RunStarted, Run: "run1", PlanID: planned.ID}); err != nil {
		t.Fatal(err)
	}
	r := &run{rb: rb, planned: planned, journal: filepath.Join(dir, "run1.jsonl")}
	var mu sync.Mutex
	opts := executor.ApplyOptions{
		Runbook: rb, Planned: planned, Registry: reg, Clock: clock.Real, Journal: j,
		Events: func(e executor.Event) { mu.Lock(); r.events = append(r.events, e); mu.Unlock() },
	}
	if w := len(rb.Windows); w > 0 {
		opts.Window, _ = executor.ChooseWindow(rb, "", time.Now())
	}
	if mod != nil {
		mod(&opts)
	}
	r.res = executor.Apply(context.Background(), opts)
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	return r
}

func outcomes(r *executor.ApplyResult) map[string]executor.Outcome {
	m := map[string]executor.Outcome{}
	for a, s := range r.Steps {
		m[a] = s.Outcome
	}
	return m
}

func TestApplyParallelismBound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var b strings.Builder
		for i := 0; i < 20; i++ {
			fmt.Fprintf(&b, "step \"test\" \"s%02d\" {\n  sleep = \"1m\"\n}\n", i)
		}
		typ := newSleeper()
		start := time.Now()
		r := applySrc(t, b.String(), typ, func(o *executor.ApplyOptions) { o.Parallelism = 4 })
		if !r.res.OK() {
			t.Fatalf("outcomes %v", outcomes(r.res))
		}
		if p := typ.peak.Load(); p != 4 {
			t.Errorf("peak concurrency %d, want 4", p)
		}
		if el := time.Since(start); el != 5*time.Minute {
			t.Errorf("20 one-minute steps at parallelism 4 took %v of virtual time, want 5m", el)
		}
	})
}

const diamond = `
step "test" "a" {
  value = "%s"
}
step "test" "b" {
  depends_on = [step.a]
}
step "test" "c" {
  sleep = "10m"
}
step "test" "d" {
  depends_on = [step.b, step.c]
}
`

func TestApplyFailureSkipsDependents(t *testing.T) {
	tests := map[string]struct {
		continueOnFailure bool
		want              map[string]executor.Outcome
	}{
		"stop": {false, map[string]executor.Outcome{
			// c was already running when a failed; it finishes.
			"step.a": executor.OutcomeFailed, "step.b": executor.OutcomeSkipped,
			"step.c": executor.OutcomeSucceeded, "step.d": executor.OutcomeSkipped,
		}},
		"continue": {true, map[string]executor.Outcome{
			"step.a": executor.OutcomeFailed, "step.b": executor.OutcomeSkipped,
			"step.c": executor.OutcomeSucceeded, "step.d": executor.OutcomeSkipped,
		}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := applySrc(t, fmt.Sprintf(diamond, "fail"), newSleeper(), func(o *executor.ApplyOptions) {
					o.ContinueOnFailure = tc.continueOnFailure
				})
				if diff := cmp.Diff(tc.want, outcomes(r.res)); diff != "" {
					t.Errorf("outcomes (-want +got):\n%s", diff)
				}
				if r.res.Status != journal.Failed {
					t.Errorf("status %s", r.res.Status)
				}
				run, err := journal.Load(r.journal)
				if err != nil {
					t.Fatal(err)
				}
				if s := run.Steps["step.b"]; s == nil || s.Status != journal.Skipped {
					t.Errorf("journal has step.b as %+v, want skipped", s)
				}
				if run.Status != journal.RunFailed {
					t.Errorf("journal run status %s", run.Status)
				}
			})
		})
	}
}

func TestApplyStopModeStartsNothingNew(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const src = `
step "test" "a" {
  value = "fail"
}
step "test" "z" {
  sleep = "1m"
}
`
		typ := newSleeper()
		r := applySrc(t, src, typ, func(o *executor.ApplyOptions) { o.Parallelism = 1 })
		want := map[string]executor.Outcome{"step.a": executor.OutcomeFailed, "step.z": executor.OutcomeNotStarted}
		if diff := cmp.Diff(want, outcomes(r.res)); diff != "" {
			t.Errorf("outcomes (-want +got):\n%s", diff)
		}
		r = applySrc(t, src, newSleeper(), func(o *executor.ApplyOptions) { o.Parallelism = 1; o.ContinueOnFailure = true })
		want["step.z"] = executor.OutcomeSucceeded
		if diff := cmp.Diff(want, outcomes(r.res)); diff != "" {
			t.Errorf("continue: outcomes (-want +got):\n%s", diff)
		}
	})
}

func TestApplyTimeoutAndRetries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const src = `
step "test" "slow" {
  sleep   = "2h"
  timeout = "30m"
  retry {
    attempts = 3
    delay    = "1m"
    backoff  = "exponential"
  }
}
`
		typ := newSleeper()
		typ.InfoValue.RepeatSafe = true
		start := time.Now()
		r := applySrc(t, src, typ, nil)
		s := r.res.Steps["step.slow"]
		if s.Outcome != executor.OutcomeFailed || s.Attempts != 3 || !strings.Contains(s.Err.Error(), "timed out after 30m") {
			t.Fatalf("result %+v", s)
		}
		// Three 30-minute attempts with 1m and 2m between them.
		if el := time.Since(start); el != 93*time.Minute {
			t.Errorf("took %v of virtual time, want 1h33m", el)
		}
		if n := typ.Count("Apply", "step.slow"); n != 3 {
			t.Errorf("%d attempts, want 3", n)
		}
	})
}

func TestApplyNoRetryWhenNotRepeatSafe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const src = `
step "test" "once" {
  value = "fail"
  retry {
    attempts = 3
    delay    = "1m"
  }
}
`
		typ := newSleeper() // not repeat-safe, and its errors are not retryable
		r := applySrc(t, src, typ, nil)
		if n := typ.Count("Apply", ""); n != 1 || r.res.Steps["step.once"].Outcome != executor.OutcomeFailed {
			t.Fatalf("%d attempts, outcome %v; a step that is not safe to repeat must not be retried blindly", n, outcomes(r.res))
		}
	})
}

func TestApplyWindowRefusesLongStep(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// The window opened an hour ago and closes in three hours: the 4h
		// step does not fit and is not started; the short one runs.
		now := time.Now().UTC()
		src := fmt.Sprintf(`
window "w" {
  start    = %q
  duration = "4h"
}
step "test" "long" {
  expected_duration = "4h"
  sleep             = "4h"
}
step "test" "after_long" {
  depends_on = [step.long]
}
step "test" "short" {
  expected_duration = "10m"
  sleep             = "10m"
}
`, now.Add(-time.Hour).Format(time.RFC3339))
		typ := newSleeper()
		r := applySrc(t, src, typ, nil)
		want := map[string]executor.Outcome{
			"step.long": executor.OutcomeNotStarted, "step.after_long": executor.OutcomeNotStarted,
			"step.short": executor.OutcomeSucceeded,
		}
		if diff := cmp.Diff(want, outcomes(r.res)); diff != "" {
			t.Errorf("outcomes (-want +got):\n%s", diff)
		}
		if typ.Count("Apply", "step.long") != 0 {
			t.Error("the long step was started")
		}
		if r.res.Status != journal.Stopped || !strings.Contains(r.res.Stopped, `step.long needs 4h01m with the steps after it, but window "w" closes in 3h`) {
			t.Errorf("status %s, stopped %q", r.res.Status, r.res.Stopped)
		}
	})
}

func TestApplyProgressAndStillRunning(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		typ := &steptest.Type{InfoValue: executor.Info{ExpectedDuration: 4 * time.Hour}}
		typ.ApplyFn = func(ctx context.Context, req *executor.ApplyRequest) *executor.ApplyResponse {
			if err := req.Handle("https://stamp/operationresults/1"); err != nil {
				return &executor.ApplyResponse{Err: err}
			}
			for p := 25.0; p <= 100; p += 25 {
				if err := req.Clock.Sleep(ctx, time.Hour); err != nil {
					return &executor.ApplyResponse{Err: err}
				}
				req.Progress(executor.Progress{Percent: p})
			}
			return &executor.ApplyResponse{}
		}
		r := applySrc(t, `step "test" "rot" {}`, typ, func(o *executor.ApplyOptions) { o.StillRunningEvery = 30 * time.Minute })
		if !r.res.OK() {
			t.Fatal(outcomes(r.res))
		}
		var still, progress int
		for _, e := range r.events {
			switch e.Type {
			case executor.EventStillRunning:
				still++
			case executor.EventProgress:
				progress++
			}
		}
		if still < 7 || progress != 4 {
			t.Errorf("%d still-running and %d progress events, want at least 7 and 4", still, progress)
		}
		run, err := journal.Load(r.journal)
		if err != nil {
			t.Fatal(err)
		}
		if s := run.Steps["step.rot"]; s.Handle != "https://stamp/operationresults/1" || s.Status != journal.Succeeded {
			t.Errorf("journalled step %+v", s)
		}
	})
}

func TestApplyInterruptStartsNothingNew(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		stop := make(chan struct{})
		typ := newSleeper()
		inner := typ.ApplyFn
		typ.ApplyFn = func(ctx context.Context, req *executor.ApplyRequest) *executor.ApplyResponse {
			if req.Address.String() == "step.a" {
				close(stop) // the operator presses Ctrl-C while a runs
			}
			return inner(ctx, req)
		}
		const src = `
step "test" "a" {
  sleep = "1h"
}
step "test" "b" {
  depends_on = [step.a]
}
`
		r := applySrc(t, src, typ, func(o *executor.ApplyOptions) { o.Stop = stop })
		want := map[string]executor.Outcome{"step.a": executor.OutcomeSucceeded, "step.b": executor.OutcomeNotStarted}
		if diff := cmp.Diff(want, outcomes(r.res)); diff != "" {
			t.Errorf("outcomes (-want +got):\n%s", diff)
		}
		if r.res.Stopped != "interrupted" || r.res.Status != journal.Stopped {
			t.Errorf("stopped %q status %s", r.res.Stopped, r.res.Status)
		}
	})
}

func TestApplyDetachLeavesStepInFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		typ := &steptest.Type{}
		typ.ApplyFn = func(actx context.Context, req *executor.ApplyRequest) *executor.ApplyResponse {
			if err := req.Handle("op-1"); err != nil {
				return &executor.ApplyResponse{Err: err}
			}
			cancel() // the second Ctrl-C
			<-actx.Done()
			return &executor.ApplyResponse{Err: actx.Err()}
		}
		rb, _ := lang.Load(fsMap(`step "test" "rot" {}`), ".", lang.Options{StepTypes: []string{"test"}})
		reg := executor.NewRegistry(typ)
		planned, _ := executor.Plan(context.Background(), executor.PlanOptions{Runbook: rb, Registry: reg, Clock: clock.Real, Key: []byte("k")})
		dir := t.TempDir()
		j, _ := journal.Create(dir, "r", clock.Real)
		j.Append(journal.Record{Type: journal.RunStarted, Run: "r"})
		res := executor.Apply(ctx, executor.ApplyOptions{Runbook: rb, Planned: planned, Registry: reg, Clock: clock.Real, Journal: j})
		j.Close()
		if res.Steps["step.rot"].Outcome != executor.OutcomeDetached || res.Status != journal.Stopped {
			t.Fatalf("outcome %v status %s", outcomes(res), res.Status)
		}
		run, err := journal.Load(filepath.Join(dir, "r.jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		if s := run.Steps["step.rot"]; !s.InFlight || s.Handle != "op-1" {
			t.Errorf("journalled step %+v, want in flight with its handle", s)
		}
		// Resuming re-attaches through Resume with the handle.
		var gotHandle string
		typ.ResumeFn = func(ctx context.Context, req *executor.ResumeRequest) *executor.ApplyResponse {
			gotHandle = req.Handle
			return &executor.ApplyResponse{}
		}
		j2, err := journal.Open(filepath.Join(dir, "r.jsonl"), clock.Real)
		if err != nil {
			t.Fatal(err)
		}
		res = executor.Apply(context.Background(), executor.ApplyOptions{Runbook: rb, Planned: planned, Registry: reg, Clock: clock.Real, Journal: j2, Prior: run})
		j2.Close()
		if !res.OK() || gotHandle != "op-1" || typ.Count("Apply", "") != 1 {
			t.Errorf("resume: outcomes %v, handle %q, %d applies", outcomes(res), gotHandle, typ.Count("Apply", ""))
		}
	})
}

type failingFile struct {
	mu     sync.Mutex
	writes int
	failAt int
}

var errNoSpace = errors.New("no space left on device")

func (f *failingFile) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.writes++
	if f.writes >= f.failAt {
		return 0, errNoSpace
	}
	return len(p), nil
}
func (f *failingFile) Sync() error  { return nil }
func (f *failingFile) Close() error { return nil }

func TestApplyStopsWhenJournalFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const src = `
step "test" "a" {}
step "test" "b" {
  depends_on = [step.a]
}
`
		typ := newSleeper()
		rb, _ := lang.Load(fsMap(src), ".", lang.Options{StepTypes: []string{"test"}})
		reg := executor.NewRegistry(typ)
		planned, _ := executor.Plan(context.Background(), executor.PlanOptions{Runbook: rb, Registry: reg, Clock: clock.Real, Key: []byte("k")})
		// Writes: run_started, a's intent, then the batch with a's result (and
		// perhaps b's intent) fails: b must not start.
		j := journal.New(&failingFile{failAt: 3}, "r", clock.Real)
		j.Append(journal.Record{Type: journal.RunStarted, Run: "r"})
		res := executor.Apply(context.Background(), executor.ApplyOptions{Runbook: rb, Planned: planned, Registry: reg, Clock: clock.Real, Journal: j})
		j.Close()
		if typ.Count("Apply", "step.b") != 0 {
			t.Error("step.b ran although its intent could not be journalled")
		}
		if res.Steps["step.b"].Outcome != executor.OutcomeNotStarted || !strings.Contains(res.Stopped, "journal cannot be written") {
			t.Errorf("outcomes %v, stopped %q", outcomes(res), res.Stopped)
		}
	})
}

func TestApplyRetryReattachesToHandle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		typ := &steptest.Type{}
		typ.ApplyFn = func(ctx context.Context, req *executor.ApplyRequest) *executor.ApplyResponse {
			if err := req.Handle("op-7"); err != nil {
				return &executor.ApplyResponse{Err: err}
			}
			<-ctx.Done() // the operation outlives the attempt's timeout
			return &executor.ApplyResponse{Err: ctx.Err()}
		}
		var resumed string
		typ.ResumeFn = func(ctx context.Context, req *executor.ResumeRequest) *executor.ApplyResponse {
			resumed = req.Handle
			return &executor.ApplyResponse{}
		}
		const src = `
step "test" "rot" {
  timeout = "1h"
  retry {
    attempts = 2
    delay    = "1m"
  }
}
`
		r := applySrc(t, src, typ, nil)
		if !r.res.OK() || resumed != "op-7" || typ.Count("Apply", "") != 1 {
			t.Fatalf("outcomes %v, resumed %q, %d applies: a retry must re-attach, not start again", outcomes(r.res), resumed, typ.Count("Apply", ""))
		}
	})
}

func TestApplyUnknownOutcomeStaysInFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		typ := &steptest.Type{}
		typ.ApplyFn = func(ctx context.Context, req *executor.ApplyRequest) *executor.ApplyResponse {
			if err := req.Handle("op-9"); err != nil {
				return &executor.ApplyResponse{Err: err}
			}
			return &executor.ApplyResponse{Unknown: true, Retryable: true, Err: errors.New("cannot read the operation")}
		}
		const src = `
step "test" "rot" {
  retry {
    attempts = 3
    delay    = "1m"
  }
}
step "test" "next" {
  depends_on = [step.rot]
}
`
		r := applySrc(t, src, typ, nil)
		want := map[string]executor.Outcome{"step.rot": executor.OutcomeUnknown, "step.next": executor.OutcomeNotStarted}
		if diff := cmp.Diff(want, outcomes(r.res)); diff != "" {
			t.Errorf("outcomes (-want +got):\n%s", diff)
		}
		if n := typ.Count("Apply", ""); n != 1 {
			t.Errorf("%d attempts: an operation that may still run must not be started again", n)
		}
		run, err := journal.Load(r.journal)
		if err != nil {
			t.Fatal(err)
		}
		if s := run.Steps["step.rot"]; !s.InFlight || s.Handle != "op-9" || r.res.Status != journal.Stopped {
			t.Errorf("journalled %+v, status %s: want in flight with its handle, run stopped", s, r.res.Status)
		}
	})
}
