package dag

import (
	"errors"
	"fmt"
	"time"
)

// ErrCycle is returned (wrapped) by the operations that need an acyclic
// graph when the graph has a cycle. Validate names the cycles.
var ErrCycle = errors.New("dependency cycle")

// TopoOrder returns every address with each vertex after all of its
// dependencies; among vertices whose dependencies are all placed, the
// smallest address comes first (Kahn's algorithm with a min-heap), so the
// order is fully determined by the graph. It fails with ErrCycle if the
// graph has a cycle.
func (g *Graph) TopoOrder() ([]string, error) {
	ids, err := g.topo()
	if err != nil {
		return nil, err
	}
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = g.addrs[id]
	}
	return out, nil
}

func (g *Graph) topo() ([]int, error) {
	n := len(g.addrs)
	waiting := make([]int, n)
	ready := &minHeap{rank: g.ranks()}
	for v := range n {
		waiting[v] = len(g.deps[v])
		if waiting[v] == 0 {
			ready.Push(v)
		}
	}
	order := make([]int, 0, n)
	for ready.Len() > 0 {
		v := ready.Pop()
		order = append(order, v)
		for _, u := range g.users[v] {
			if waiting[u]--; waiting[u] == 0 {
				ready.Push(u)
			}
		}
	}
	if len(order) < n {
		return nil, fmt.Errorf("dag: %w: %d of %d steps cannot be ordered", ErrCycle, n-len(order), n)
	}
	return order, nil
}

// CriticalPath is the result of Graph.CriticalPath.
type CriticalPath struct {
	// Length is the duration of the longest path through the graph: how long
	// the run takes with unbounded parallelism.
	Length time.Duration
	// Path is one longest path, dependencies first (ties broken by address).
	Path []string
	// Remaining maps every address to the longest remaining path from the
	// start of that vertex to the end of the run: its own duration plus the
	// longest chain of its dependents after it. Before starting a step, the
	// apply engine checks that Remaining fits in what is left of the change
	// window.
	Remaining map[string]time.Duration
}

// CriticalPath measures the graph with duration giving each vertex's expected
// duration (called once per vertex; a negative duration is a bug in the
// caller and panics). It fails with ErrCycle if the graph has a cycle.
func (g *Graph) CriticalPath(duration func(addr string) time.Duration) (CriticalPath, error) {
	order, err := g.topo()
	if err != nil {
		return CriticalPath{}, err
	}
	rank := g.ranks()
	n := len(order)
	remaining := make([]time.Duration, n)
	next := make([]int, n) // the dependent on the longest chain after v, or -1
	for i := n - 1; i >= 0; i-- {
		v := order[i]
		d := duration(g.addrs[v])
		if d < 0 {
			panic(fmt.Sprintf("dag: negative duration %v for %s", d, g.addrs[v]))
		}
		next[v] = -1
		var after time.Duration
		for _, u := range g.users[v] {
			if next[v] < 0 || remaining[u] > after || (remaining[u] == after && rank[u] < rank[next[v]]) {
				next[v], after = u, remaining[u]
			}
		}
		remaining[v] = d + after
	}
	cp := CriticalPath{Remaining: make(map[string]time.Duration, n)}
	start := -1
	for v := range n {
		cp.Remaining[g.addrs[v]] = remaining[v]
		if start < 0 || remaining[v] > remaining[start] || (remaining[v] == remaining[start] && rank[v] < rank[start]) {
			start = v
		}
	}
	for v := start; v >= 0; v = next[v] {
		cp.Path = append(cp.Path, g.addrs[v])
	}
	if start >= 0 {
		cp.Length = remaining[start]
	}
	return cp, nil
}
