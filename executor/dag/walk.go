package dag

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

// ErrStepFailed is wrapped by Result.Stopped when a walk without
// ContinueOnFailure stopped because a vertex failed.
var ErrStepFailed = errors.New("a step failed")

// WalkOptions configure Graph.Walk.
type WalkOptions struct {
	// Parallelism is the most vertices that run at once; values below 1
	// mean 1.
	Parallelism int
	// ContinueOnFailure keeps starting vertices that do not depend on a
	// failed one. When false, nothing new starts after the first failure
	// (vertices already running finish).
	ContinueOnFailure bool
	// Gate, if set, is called right before a vertex would start. If it
	// returns an error the vertex is not started and the walk ends cleanly:
	// nothing new starts, running vertices finish, and the rest are reported
	// not started. The apply engine checks the change window here. Gate is
	// called from Walk's goroutine, one call at a time, in start order.
	Gate func(addr string) error
	// Visit runs one vertex; it is required. It is called on its own
	// goroutine with Walk's ctx, so it can react when that ctx is cancelled.
	// A non-nil error fails the vertex.
	Visit func(ctx context.Context, addr string) error
	// OnSkip, if set, is told about every vertex skipped because a vertex it
	// depends on (directly or transitively) failed; cause is the address of
	// that failed vertex. It is called from Walk's goroutine, one call at a
	// time, as soon as the failure is known.
	OnSkip func(addr, cause string)
}

// Status is what became of one vertex in a walk.
type Status uint8

// The statuses of a vertex after a walk. The zero value is NotStarted.
const (
	// NotStarted: the walk stopped (Gate refusal, cancelled ctx, or a
	// failure without ContinueOnFailure) before the vertex could start.
	// Nothing is wrong with the vertex itself; a later run may start it.
	NotStarted Status = iota
	// Succeeded: Visit returned nil.
	Succeeded
	// Failed: Visit returned an error.
	Failed
	// Skipped: a vertex it depends on failed, so it never can start.
	// Skipping is a consequence of that failure, not a failure of its own.
	Skipped
)

var statusNames = [...]string{"not started", "succeeded", "failed", "skipped"}

// String returns "not started", "succeeded", "failed" or "skipped".
func (s Status) String() string {
	if int(s) < len(statusNames) {
		return statusNames[s]
	}
	return fmt.Sprintf("Status(%d)", s)
}

// Outcome is the result of one vertex.
type Outcome struct {
	Status Status
	// Err is Visit's error for a Failed vertex, and Result.Stopped for a
	// NotStarted one.
	Err error
	// Cause is, for a Skipped vertex, the address of the failed vertex
	// that skipped it (when several of its ancestors fail, the first failure
	// to reach it).
	Cause string
}

// Result is what Walk returns.
type Result struct {
	// Outcomes holds one entry per vertex, keyed by address.
	Outcomes map[string]Outcome
	// Stopped is nil when the walk ran to completion (every vertex
	// succeeded, failed or was skipped). Otherwise it says why the walk
	// stopped starting vertices: the Gate's error, context.Cause of the
	// cancelled ctx, or an error wrapping ErrStepFailed that names the
	// vertex whose failure stopped it.
	Stopped error
}

// Addrs returns, sorted, the addresses whose outcome has status s.
func (r Result) Addrs(s Status) []string {
	var out []string
	for a, o := range r.Outcomes {
		if o.Status == s {
			out = append(out, a)
		}
	}
	slices.Sort(out)
	return out
}

// vertex states during a walk.
const (
	waiting = iota // some dependency has not succeeded yet
	ready          // in the ready heap
	running
	finished // succeeded, failed or skipped
)

type done struct {
	v   int
	err error
}

// Walk visits every vertex, each only after all its dependencies succeeded,
// at most opts.Parallelism at a time. Among vertices that are ready at the
// same moment, the smallest address starts first. See WalkOptions for
// failures, the Gate and cancellation. Walk returns only after every Visit
// it started has returned. It fails with ErrCycle, without visiting anything,
// if the graph has a cycle.
//
// The walk costs O(V+E) plus O(log V) per vertex for the ready heap: the
// dependency counters, the skip propagation (each vertex is skipped at most
// once) and the completion handling each touch every edge once.
func (g *Graph) Walk(ctx context.Context, opts WalkOptions) (Result, error) {
	if opts.Visit == nil {
		panic("dag: WalkOptions.Visit is nil")
	}
	if _, err := g.topo(); err != nil {
		return Result{}, err
	}
	w := &walker{g: g, opts: opts, parallel: max(opts.Parallelism, 1)}
	return w.run(ctx), nil
}

type walker struct {
	g        *Graph
	opts     WalkOptions
	parallel int

	state   []uint8
	waiting []int // dependencies not yet succeeded
	out     []Outcome
	ready   minHeap
	running int
	stopped error
}

func (w *walker) run(ctx context.Context) Result {
	g := w.g
	n := len(g.addrs)
	w.state = make([]uint8, n)
	w.waiting = make([]int, n)
	w.out = make([]Outcome, n)
	w.ready = minHeap{rank: g.ranks()}
	for v := range n {
		w.waiting[v] = len(g.deps[v])
		if w.waiting[v] == 0 {
			w.state[v] = ready
			w.ready.Push(v)
		}
	}
	results := make(chan done, w.parallel)
	cancelled := ctx.Done()
	for {
		w.start(ctx, results)
		if w.running == 0 {
			break
		}
		select {
		case d := <-results:
			if ctx.Err() != nil {
				// A vertex that fails because ctx was cancelled must not
				// make a step failure the reason the walk stopped.
				w.stop(context.Cause(ctx))
			}
			w.finish(d)
		case <-cancelled:
			cancelled = nil // stop selecting on it; keep collecting results
			w.stop(context.Cause(ctx))
		}
	}
	res := Result{Outcomes: make(map[string]Outcome, n), Stopped: w.stopped}
	for v := range n {
		o := w.out[v]
		if w.state[v] == waiting || w.state[v] == ready {
			o = Outcome{Status: NotStarted, Err: w.stopped}
		}
		res.Outcomes[g.addrs[v]] = o
	}
	return res
}

// start starts ready vertices while there are free slots and the walk has
// not been stopped.
func (w *walker) start(ctx context.Context, results chan<- done) {
	for w.stopped == nil && w.running < w.parallel && w.ready.Len() > 0 {
		if ctx.Err() != nil {
			w.stop(context.Cause(ctx))
			return
		}
		v := w.ready.Pop()
		addr := w.g.addrs[v]
		if w.opts.Gate != nil {
			if err := w.opts.Gate(addr); err != nil {
				w.ready.Push(v) // reported as not started with the rest
				w.stop(err)
				return
			}
		}
		w.state[v] = running
		w.running++
		go func() {
			results <- done{v: v, err: w.opts.Visit(ctx, addr)}
		}()
	}
}

// finish records the result of a vertex and releases or skips its
// dependents.
func (w *walker) finish(d done) {
	w.running--
	w.state[d.v] = finished
	if d.err == nil {
		w.out[d.v] = Outcome{Status: Succeeded}
		for _, u := range w.g.users[d.v] {
			if w.waiting[u]--; w.waiting[u] == 0 && w.state[u] == waiting {
				w.state[u] = ready
				w.ready.Push(u)
			}
		}
		return
	}
	w.out[d.v] = Outcome{Status: Failed, Err: d.err}
	w.skipDependents(d.v)
	if !w.opts.ContinueOnFailure {
		w.stop(fmt.Errorf("%s failed: %w", w.g.addrs[d.v], ErrStepFailed))
	}
}

// skipDependents marks every transitive dependent of the failed vertex f
// skipped, then tells OnSkip about them in address order. A dependent of a
// failed vertex can only be waiting (it needs f to succeed to become ready),
// and a skipped vertex's dependents are waiting too, so each vertex is
// skipped once and each edge followed once over the whole walk.
func (w *walker) skipDependents(f int) {
	cause := w.g.addrs[f]
	var skipped []int
	queue := slices.Clone(w.g.users[f])
	for len(queue) > 0 {
		u := queue[0]
		queue = queue[1:]
		if w.state[u] != waiting {
			continue
		}
		w.state[u] = finished
		w.out[u] = Outcome{Status: Skipped, Cause: cause}
		skipped = append(skipped, u)
		queue = append(queue, w.g.users[u]...)
	}
	if w.opts.OnSkip == nil {
		return
	}
	rank := w.ready.rank
	slices.SortFunc(skipped, func(a, b int) int { return rank[a] - rank[b] })
	for _, u := range skipped {
		w.opts.OnSkip(w.g.addrs[u], cause)
	}
}

// stop records the first reason to start nothing new.
func (w *walker) stop(err error) {
	if w.stopped == nil {
		w.stopped = err
	}
}
