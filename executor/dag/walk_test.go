package dag

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// outcomes flattens a result for comparison; errors compare by message.
type outcome struct {
	Status string
	Err    string
	Cause  string
}

func flatten(r Result) map[string]outcome {
	out := map[string]outcome{}
	for a, o := range r.Outcomes {
		f := outcome{Status: o.Status.String(), Cause: o.Cause}
		if o.Err != nil {
			f.Err = o.Err.Error()
		}
		out[a] = f
	}
	return out
}

var errBoom = errors.New("boom")

// recorder is a Visit that records the order of visits and fails the
// addresses in fail.
type recorder struct {
	mu      sync.Mutex
	visited []string
	skips   [][2]string
	fail    map[string]bool
}

func (r *recorder) visit(_ context.Context, addr string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.visited = append(r.visited, addr)
	if r.fail[addr] {
		return errBoom
	}
	return nil
}

func (r *recorder) onSkip(addr, cause string) { r.skips = append(r.skips, [2]string{addr, cause}) }

// failureGraph: a ← b ← c, a ← x ← y (both chains hang off a), d ← e
// independent, and f depending on both b and e.
var failureEdges = []e{
	{"step.b", "step.a", 1}, {"step.c", "step.b", 2},
	{"step.x", "step.a", 3}, {"step.y", "step.x", 4},
	{"step.e", "step.d", 5}, {"step.f", "step.b", 6}, {"step.f", "step.e", 7},
}

func TestWalkSequential(t *testing.T) {
	type want struct {
		Visited  []string
		Skips    [][2]string
		Outcomes map[string]outcome
		Stopped  string
	}
	ok := outcome{Status: "succeeded"}
	stopErr := "step.a failed: a step failed"
	tests := map[string]struct {
		fail       []string
		continueOn bool
		want       want
	}{
		"all succeed in topological order": {
			want: want{
				Visited: []string{"step.a", "step.b", "step.c", "step.d", "step.e", "step.f", "step.x", "step.y"},
				Outcomes: map[string]outcome{
					"step.a": ok, "step.b": ok, "step.c": ok, "step.d": ok, "step.e": ok, "step.f": ok, "step.x": ok, "step.y": ok,
				},
			},
		},
		"failure stops the walk": {
			fail: []string{"step.a"},
			want: want{
				Visited: []string{"step.a"},
				Skips:   [][2]string{{"step.b", "step.a"}, {"step.c", "step.a"}, {"step.f", "step.a"}, {"step.x", "step.a"}, {"step.y", "step.a"}},
				Outcomes: map[string]outcome{
					"step.a": {Status: "failed", Err: "boom"},
					"step.b": {Status: "skipped", Cause: "step.a"}, "step.c": {Status: "skipped", Cause: "step.a"},
					"step.f": {Status: "skipped", Cause: "step.a"},
					"step.x": {Status: "skipped", Cause: "step.a"}, "step.y": {Status: "skipped", Cause: "step.a"},
					"step.d": {Status: "not started", Err: stopErr}, "step.e": {Status: "not started", Err: stopErr},
				},
				Stopped: stopErr,
			},
		},
		"failure with continue runs independent branches": {
			fail:       []string{"step.b"},
			continueOn: true,
			want: want{
				Visited: []string{"step.a", "step.b", "step.d", "step.e", "step.x", "step.y"},
				Skips:   [][2]string{{"step.c", "step.b"}, {"step.f", "step.b"}},
				Outcomes: map[string]outcome{
					"step.a": ok, "step.b": {Status: "failed", Err: "boom"},
					"step.c": {Status: "skipped", Cause: "step.b"}, "step.f": {Status: "skipped", Cause: "step.b"},
					"step.d": ok, "step.e": ok, "step.x": ok, "step.y": ok,
				},
			},
		},
		"two failures with continue: first failure to reach a vertex is its cause": {
			fail:       []string{"step.b", "step.e"},
			continueOn: true,
			want: want{
				Visited: []string{"step.a", "step.b", "step.d", "step.e", "step.x", "step.y"},
				Skips:   [][2]string{{"step.c", "step.b"}, {"step.f", "step.b"}},
				Outcomes: map[string]outcome{
					"step.a": ok, "step.b": {Status: "failed", Err: "boom"},
					"step.c": {Status: "skipped", Cause: "step.b"}, "step.f": {Status: "skipped", Cause: "step.b"},
					"step.d": ok, "step.e": {Status: "failed", Err: "boom"}, "step.x": ok, "step.y": ok,
				},
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			rec := &recorder{fail: map[string]bool{}}
			for _, a := range tc.fail {
				rec.fail[a] = true
			}
			res, err := build(nil, failureEdges).Walk(context.Background(), WalkOptions{
				Parallelism:       1,
				ContinueOnFailure: tc.continueOn,
				Visit:             rec.visit,
				OnSkip:            rec.onSkip,
			})
			if err != nil {
				t.Fatal(err)
			}
			got := want{Visited: rec.visited, Skips: rec.skips, Outcomes: flatten(res)}
			if res.Stopped != nil {
				got.Stopped = res.Stopped.Error()
				if !errors.Is(res.Stopped, ErrStepFailed) {
					t.Errorf("Stopped = %v, want it to wrap ErrStepFailed", res.Stopped)
				}
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("walk (-want +got):\n%s", diff)
			}
		})
	}
}

func TestWalkGateRefusal(t *testing.T) {
	errWindow := errors.New("change window closes in 1h, step.c needs 4h")
	rec := &recorder{}
	var gated []string
	res, err := build([]string{"step.z"}, []e{{"step.b", "step.a", 1}, {"step.c", "step.b", 2}, {"step.d", "step.c", 3}}).
		Walk(context.Background(), WalkOptions{
			Parallelism: 4,
			Gate: func(addr string) error {
				gated = append(gated, addr)
				if addr == "step.c" {
					return errWindow
				}
				return nil
			},
			Visit: rec.visit,
		})
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(res.Stopped, errWindow) {
		t.Errorf("Stopped = %v, want the gate's error", res.Stopped)
	}
	notStarted := outcome{Status: "not started", Err: errWindow.Error()}
	ok := outcome{Status: "succeeded"}
	want := map[string]outcome{"step.a": ok, "step.b": ok, "step.z": ok, "step.c": notStarted, "step.d": notStarted}
	if diff := cmp.Diff(want, flatten(res)); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"step.a", "step.z", "step.b", "step.c"}, gated); diff != "" {
		t.Errorf("gate calls (-want +got):\n%s", diff)
	}
}

// TestWalkInFlightFinishAfterFailure: with ContinueOnFailure false, a vertex
// already running when another fails runs to completion, and nothing new
// starts afterwards.
func TestWalkInFlightFinishAfterFailure(t *testing.T) {
	failed := make(chan struct{})
	res, err := build(nil, []e{{"step.a2", "step.a", 1}, {"step.b2", "step.b", 2}}).Walk(context.Background(), WalkOptions{
		Parallelism: 2,
		Visit: func(_ context.Context, addr string) error {
			switch addr {
			case "step.a":
				return errBoom
			case "step.b":
				<-failed // still running when step.a's failure is handled
			}
			return nil
		},
		OnSkip: func(addr, cause string) { close(failed) },
	})
	if err != nil {
		t.Fatal(err)
	}
	stop := "step.a failed: a step failed"
	want := map[string]outcome{
		"step.a":  {Status: "failed", Err: "boom"},
		"step.a2": {Status: "skipped", Cause: "step.a"},
		"step.b":  {Status: "succeeded"},
		"step.b2": {Status: "not started", Err: stop},
	}
	if diff := cmp.Diff(want, flatten(res)); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
}

func TestWalkContextCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	started := make(chan struct{})
	go func() { <-started; cancel() }()
	var gated []string
	res, err := build([]string{"step.b", "step.c"}, []e{{"step.a2", "step.a", 1}}).Walk(ctx, WalkOptions{
		Parallelism: 1,
		Gate:        func(addr string) error { gated = append(gated, addr); return nil },
		Visit: func(ctx context.Context, addr string) error {
			close(started) // a second visit would panic here
			<-ctx.Done()
			return ctx.Err()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(res.Stopped, context.Canceled) {
		t.Errorf("Stopped = %v, want context.Canceled", res.Stopped)
	}
	notStarted := outcome{Status: "not started", Err: context.Canceled.Error()}
	want := map[string]outcome{
		"step.a":  {Status: "failed", Err: context.Canceled.Error()},
		"step.a2": {Status: "skipped", Cause: "step.a"},
		"step.b":  notStarted,
		"step.c":  notStarted,
	}
	if diff := cmp.Diff(want, flatten(res)); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"step.a"}, gated); diff != "" {
		t.Errorf("gate calls (-want +got):\n%s", diff)
	}
}

func TestWalkAlreadyCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := build([]string{"step.a"}, nil).Walk(ctx, WalkOptions{
		Visit: func(context.Context, string) error { t.Error("visited after cancel"); return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"step.a"}, res.Addrs(NotStarted)); diff != "" {
		t.Errorf("not started (-want +got):\n%s", diff)
	}
}

func TestWalkCycle(t *testing.T) {
	_, err := build(nil, []e{{"step.a", "step.a", 1}}).Walk(context.Background(), WalkOptions{
		Visit: func(context.Context, string) error { t.Error("visited a cyclic graph"); return nil },
	})
	if !errors.Is(err, ErrCycle) {
		t.Errorf("Walk error = %v, want ErrCycle", err)
	}
}

// TestWalkParallelismBound runs graphs whose visits block until the test
// releases them, one at a time in start order. Knowing the graph, the test
// waits after each release until exactly as many visits run as the walk
// should have started (min(parallelism, running + ready)), so the walk
// reaches its bound every time, and a walk that exceeded it would push the
// concurrency counter past the bound.
func TestWalkParallelismBound(t *testing.T) {
	for _, tc := range []struct {
		name     string
		g        *Graph
		parallel int
		wantMax  int
	}{
		{"wide 40, parallelism 3", wide(40), 3, 3},
		{"wide 5, parallelism 8", wide(5), 8, 5},
		{"layered 300, parallelism 7", layered(300), 7, 7},
		{"chain 20, parallelism 4", chain(20), 4, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := maxConcurrency(t, tc.g, tc.parallel); got != tc.wantMax {
				t.Errorf("max concurrent visits = %d, want %d", got, tc.wantMax)
			}
		})
	}
}

func maxConcurrency(t *testing.T, g *Graph, parallel int) int {
	release := map[string]chan struct{}{}
	for _, a := range g.Vertices() {
		release[a] = make(chan struct{})
	}
	var running, maxRunning atomic.Int32
	started := make(chan string, g.Len())
	type walked struct {
		res Result
		err error
	}
	done := make(chan walked)
	go func() {
		res, err := g.Walk(context.Background(), WalkOptions{
			Parallelism: parallel,
			Visit: func(_ context.Context, addr string) error {
				n := running.Add(1)
				for m := maxRunning.Load(); n > m && !maxRunning.CompareAndSwap(m, n); m = maxRunning.Load() {
				}
				started <- addr
				<-release[addr]
				running.Add(-1)
				return nil
			},
		})
		done <- walked{res, err}
	}()
	begun, finished := map[string]bool{}, map[string]bool{}
	ready := func() int {
		n := 0
		for _, a := range g.Vertices() {
			if begun[a] {
				continue
			}
			all := true
			for _, d := range g.Dependencies(a) {
				all = all && finished[d]
			}
			if all {
				n++
			}
		}
		return n
	}
	var outstanding []string
	for len(finished) < g.Len() {
		for want := min(parallel, len(outstanding)+ready()); len(outstanding) < want; {
			var a string
			select {
			case a = <-started:
			case <-time.After(10 * time.Second):
				t.Fatalf("walk started %d visits, want %d", len(outstanding), want)
			}
			begun[a] = true
			outstanding = append(outstanding, a)
		}
		a := outstanding[0]
		outstanding = outstanding[1:]
		finished[a] = true
		close(release[a])
	}
	w := <-done
	if w.err != nil {
		t.Fatal(w.err)
	}
	if got := len(w.res.Addrs(Succeeded)); got != g.Len() {
		t.Errorf("%d of %d succeeded", got, g.Len())
	}
	return int(maxRunning.Load())
}

func TestWalkLargeShapes(t *testing.T) {
	for _, sh := range shapes {
		t.Run(sh.name, func(t *testing.T) {
			g := sh.make(10_000)
			var visits atomic.Int32
			res, err := g.Walk(context.Background(), WalkOptions{
				Parallelism: 8,
				Visit:       func(context.Context, string) error { visits.Add(1); return nil },
			})
			if err != nil {
				t.Fatal(err)
			}
			if visits.Load() != 10_000 || len(res.Addrs(Succeeded)) != 10_000 || res.Stopped != nil {
				t.Errorf("visits %d, succeeded %d, stopped %v", visits.Load(), len(res.Addrs(Succeeded)), res.Stopped)
			}
		})
	}
}

func TestWalkSkipsLongChain(t *testing.T) {
	g := chain(10_000)
	res, err := g.Walk(context.Background(), WalkOptions{
		Parallelism: 2,
		Visit: func(_ context.Context, addr string) error {
			if addr == addr0 {
				return errBoom
			}
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := len(res.Addrs(Skipped)); got != 9_999 {
		t.Errorf("%d skipped, want 9999", got)
	}
	if o := res.Outcomes[addr(9_999)]; o.Cause != addr0 {
		t.Errorf("last vertex: %+v, want skipped by %s", o, addr0)
	}
}

var addr0 = addr(0)
