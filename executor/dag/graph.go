package dag

import (
	"fmt"
	"slices"
	"sync"

	"github.com/hashicorp/hcl/v2"
)

// Graph is a directed graph of step addresses. The zero value is not usable;
// call New.
type Graph struct {
	index map[string]int // address → vertex id (insertion order)
	addrs []string       // vertex id → address
	deps  [][]edge       // vertex id → its dependencies, in Connect order
	users [][]int        // vertex id → its dependents, in Connect order

	// rank is each vertex's position in address order. It is computed on
	// demand (under rankMu, so concurrent readers are safe) and dropped by
	// Add; see ranks.
	rankMu sync.Mutex
	rank   []int
}

// edge is one dependency of a vertex and the source range that created it.
type edge struct {
	to      int
	subject hcl.Range
}

// New returns an empty graph.
func New() *Graph {
	return &Graph{index: make(map[string]int)}
}

// Add adds the vertex addr. Adding a vertex that already exists does nothing.
func (g *Graph) Add(addr string) {
	if _, ok := g.index[addr]; ok {
		return
	}
	g.index[addr] = len(g.addrs)
	g.addrs = append(g.addrs, addr)
	g.deps = append(g.deps, nil)
	g.users = append(g.users, nil)
	g.rank = nil
}

// Connect records that dependent depends on dependency: dependent starts only
// after dependency has succeeded. subject is the source range that created
// the edge (the depends_on entry or the expression's reference); it becomes
// the Subject of a cycle diagnostic closed by this edge.
//
// Connecting the same pair twice keeps the first subject, so the earliest
// reference in the source is the one reported. A vertex may depend on itself;
// Validate reports that as a cycle. Both vertices must have been added: an
// unknown address is a bug in the calling program and panics.
func (g *Graph) Connect(dependent, dependency string, subject hcl.Range) {
	from, to := g.mustID(dependent), g.mustID(dependency)
	for _, e := range g.deps[from] {
		if e.to == to {
			return
		}
	}
	g.deps[from] = append(g.deps[from], edge{to: to, subject: subject})
	g.users[to] = append(g.users[to], from)
}

// Has reports whether addr is a vertex of the graph.
func (g *Graph) Has(addr string) bool {
	_, ok := g.index[addr]
	return ok
}

// Len returns the number of vertices.
func (g *Graph) Len() int { return len(g.addrs) }

// Vertices returns every address in sorted order.
func (g *Graph) Vertices() []string {
	out := slices.Clone(g.addrs)
	slices.Sort(out)
	return out
}

// Dependencies returns, sorted, the addresses addr depends on directly.
// It panics if addr is not a vertex.
func (g *Graph) Dependencies(addr string) []string {
	id := g.mustID(addr)
	out := make([]string, len(g.deps[id]))
	for i, e := range g.deps[id] {
		out[i] = g.addrs[e.to]
	}
	slices.Sort(out)
	return out
}

// Dependents returns, sorted, the addresses that depend directly on addr.
// It panics if addr is not a vertex.
func (g *Graph) Dependents(addr string) []string {
	id := g.mustID(addr)
	out := make([]string, len(g.users[id]))
	for i, u := range g.users[id] {
		out[i] = g.addrs[u]
	}
	slices.Sort(out)
	return out
}

// Subject returns the source range recorded for the edge from dependent to
// dependency, and whether that edge exists.
func (g *Graph) Subject(dependent, dependency string) (hcl.Range, bool) {
	from, ok1 := g.index[dependent]
	to, ok2 := g.index[dependency]
	if !ok1 || !ok2 {
		return hcl.Range{}, false
	}
	for _, e := range g.deps[from] {
		if e.to == to {
			return e.subject, true
		}
	}
	return hcl.Range{}, false
}

func (g *Graph) mustID(addr string) int {
	id, ok := g.index[addr]
	if !ok {
		panic(fmt.Sprintf("dag: unknown vertex %q (Add it before connecting it)", addr))
	}
	return id
}

// ranks returns each vertex's position in address order, so that algorithms
// can compare vertices by address with one integer comparison.
func (g *Graph) ranks() []int {
	g.rankMu.Lock()
	defer g.rankMu.Unlock()
	if g.rank != nil {
		return g.rank
	}
	order := make([]int, len(g.addrs))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		switch {
		case g.addrs[a] < g.addrs[b]:
			return -1
		case g.addrs[a] > g.addrs[b]:
			return 1
		}
		return 0
	})
	rank := make([]int, len(order))
	for r, id := range order {
		rank[id] = r
	}
	g.rank = rank
	return rank
}
