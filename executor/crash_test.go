package executor_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/runbook-dev/runbook/clock"
	"github.com/runbook-dev/runbook/executor"
	"github.com/runbook-dev/runbook/executor/journal"
	"github.com/runbook-dev/runbook/executor/steptest"
	"github.com/runbook-dev/runbook/lang"
)

// remote is a stamp for the crash test: an idempotent upload, and
// long-running operations that go on whatever happens to the client.
type remote struct {
	mu       sync.Mutex
	uploads  map[string]int
	starts   map[string]int
	ops      map[string]time.Time // operation id -> when it started
	uploaded map[string]bool
}

func newRemote() *remote {
	return &remote{uploads: map[string]int{}, starts: map[string]int{}, ops: map[string]time.Time{}, uploaded: map[string]bool{}}
}

// stepTypes returns an import-like step type (safe to repeat, checks the
// remote state on resume) and a rotation-like one (not safe to repeat:
// resume polls the journalled operation).
func (r *remote) stepTypes() (*steptest.Type, *steptest.Type) {
	upload := &steptest.Type{TypeName: "upload", InfoValue: executor.Info{RepeatSafe: true}}
	upload.ApplyFn = func(ctx context.Context, req *executor.ApplyRequest) *executor.ApplyResponse {
		r.mu.Lock()
		r.uploads[req.Address.String()]++
		r.uploaded[req.Address.String()] = true
		r.mu.Unlock()
		return &executor.ApplyResponse{}
	}
	upload.ResumeFn = func(ctx context.Context, req *executor.ResumeRequest) *executor.ApplyResponse {
		r.mu.Lock()
		done := r.uploaded[req.Address.String()]
		r.mu.Unlock()
		if done {
			return &executor.ApplyResponse{}
		}
		return upload.ApplyFn(ctx, &req.ApplyRequest)
	}
	rotate := &steptest.Type{TypeName: "rotate", InfoValue: executor.Info{ExpectedDuration: 4 * time.Hour}}
	poll := func(ctx context.Context, req *executor.ApplyRequest, op string) *executor.ApplyResponse {
		for {
			r.mu.Lock()
			start, ok := r.ops[op]
			r.mu.Unlock()
			if !ok {
				return &executor.ApplyResponse{Err: fmt.Errorf("no operation %s", op)}
			}
			if req.Clock.Since(start) >= 4*time.Hour {
				return &executor.ApplyResponse{}
			}
			if err := req.Clock.Sleep(ctx, time.Minute); err != nil {
				return &executor.ApplyResponse{Err: err}
			}
		}
	}
	rotate.ApplyFn = func(ctx context.Context, req *executor.ApplyRequest) *executor.ApplyResponse {
		r.mu.Lock()
		r.starts[req.Address.String()]++
		op := fmt.Sprintf("%s/op%d", req.Address, r.starts[req.Address.String()])
		r.ops[op] = req.Clock.Now()
		r.mu.Unlock()
		if err := req.Handle(op); err != nil {
			return &executor.ApplyResponse{Err: err}
		}
		return poll(ctx, req, op)
	}
	rotate.ResumeFn = func(ctx context.Context, req *executor.ResumeRequest) *executor.ApplyResponse {
		if req.Handle == "" {
			// The intent is journalled but no handle: the rotation may not
			// have been started. This remote shows whether it was.
			r.mu.Lock()
			n := r.starts[req.Address.String()]
			r.mu.Unlock()
			if n == 0 {
				return rotate.ApplyFn(ctx, &req.ApplyRequest)
			}
			return poll(ctx, &req.ApplyRequest, fmt.Sprintf("%s/op%d", req.Address, n))
		}
		return poll(ctx, &req.ApplyRequest, req.Handle)
	}
	return upload, rotate
}

// crashFile is a journal file that "crashes" after a number of writes:
// the process dies, so later writes never reach the disk.
type crashFile struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	writes  int
	crashAt int
	crash   func()
}

func (f *crashFile) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.crashAt > 0 && f.writes >= f.crashAt {
		return 0, errors.New("the process died")
	}
	f.writes++
	f.buf.Write(p)
	if f.writes == f.crashAt {
		f.crash()
	}
	return len(p), nil
}
func (f *crashFile) Sync() error  { return nil }
func (f *crashFile) Close() error { return nil }

const crashRunbook = `
step "upload" "cert" {}
step "rotate" "rot" {
  depends_on = [step.cert]
}
step "upload" "after" {
  depends_on = [step.rot]
}
step "rotate" "other" {}
`

// TestCrashAtEveryJournalPoint kills the apply right after each record
// reaches the journal, then resumes from what was on disk: every step ends
// done, and every side effect that must not repeat happened exactly once.
func TestCrashAtEveryJournalPoint(t *testing.T) {
	total := 0
	for crashAt := 1; ; crashAt++ {
		finished := false
		t.Run(fmt.Sprintf("after_write_%d", crashAt), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				finished = crashAndResume(t, crashAt)
			})
		})
		if finished || t.Failed() {
			total = crashAt
			break
		}
	}
	if total < 6 {
		t.Fatalf("the run wrote only %d records before finishing: the test crashed nowhere interesting", total)
	}
}

// crashAndResume crashes an apply after crashAt journal writes and resumes
// it; it reports whether the first apply finished before the crash point.
func crashAndResume(t *testing.T, crashAt int) bool {
	r := newRemote()
	upload, rotate := r.stepTypes()
	reg := executor.NewRegistry(upload, rotate)
	rb, diags := lang.Load(fsMap(crashRunbook), ".", lang.Options{StepTypes: reg.Names()})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	planned, diags := executor.Plan(context.Background(), executor.PlanOptions{Runbook: rb, Registry: reg, Clock: clock.Real, Key: []byte("k")})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	ctx, die := context.WithCancel(context.Background())
	f := &crashFile{crashAt: crashAt, crash: die}
	j := journal.New(f, "run", clock.Real)
	if err := j.Append(journal.Record{Type: journal.RunStarted}); err != nil {
		die()
	}
	res := executor.Apply(ctx, executor.ApplyOptions{Runbook: rb, Planned: planned, Registry: reg, Clock: clock.Real, Journal: j, Parallelism: 2})
	j.Close()
	if ctx.Err() == nil && res.OK() {
		return true // the run ended before the crash point
	}
	die()

	// What reached the disk is all the next apply knows.
	dir := t.TempDir()
	path := filepath.Join(dir, "run.jsonl")
	if err := os.WriteFile(path, f.buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	if f.buf.Len() == 0 {
		return false // nothing was written: nothing happened
	}
	prior, err := journal.Load(path)
	if err != nil {
		t.Fatalf("the journal of the crashed run cannot be read: %v", err)
	}
	j2, err := journal.Open(path, clock.Real)
	if err != nil {
		t.Fatal(err)
	}
	j2.Append(journal.Record{Type: journal.RunResumed})
	res = executor.Apply(context.Background(), executor.ApplyOptions{Runbook: rb, Planned: planned, Registry: reg, Clock: clock.Real, Journal: j2, Prior: prior, Parallelism: 2})
	j2.Close()
	if !res.OK() {
		t.Fatalf("the resumed run did not finish: %v (%s)", outcomes(res), res.Stopped)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, a := range []string{"step.rot", "step.other"} {
		if r.starts[a] != 1 {
			t.Errorf("%s: %d rotations started, want exactly 1", a, r.starts[a])
		}
	}
	for _, a := range []string{"step.cert", "step.after"} {
		if !r.uploaded[a] || r.uploads[a] > 2 {
			t.Errorf("%s: uploaded %v after %d uploads", a, r.uploaded[a], r.uploads[a])
		}
	}
	run, err := journal.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{"step.cert", "step.rot", "step.after", "step.other"} {
		if s := run.Steps[a]; s == nil || s.Status != journal.Succeeded || s.InFlight {
			t.Errorf("journal after resume: %s is %+v", a, s)
		}
	}
	return false
}
