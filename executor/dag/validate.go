package dag

import (
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// walkBudget bounds the work (edges explored) spent building the closed walk
// through one strongly connected component, as a multiple of the
// component's size. A simple cycle of any length costs about one edge per
// member; only a large, densely tangled component can exhaust the budget,
// and it is then listed in address order instead (see cycle.walk). It is a
// variable so that tests can exercise that fallback on a small graph.
var walkBudget = 64

// cycle is one reported cycle.
type cycle struct {
	// ids is a closed walk (ids[0] == ids[len-1]) following dependencies
	// when walk is true, else the members in address order.
	ids     []int
	walk    bool
	closing hcl.Range // the range of the edge that closes the cycle
}

// Validate reports every dependency cycle as one error diagnostic.
//
// A cycle is a strongly connected component of more than one vertex, or a
// vertex that depends on itself. Its diagnostic names every step in the
// component as a closed walk that starts and ends at the smallest address,
// following dependencies ("step.a → step.b → step.a": step.a depends on
// step.b, which depends on step.a). When a component is not a simple cycle
// the walk may pass through a step more than once, so that every edge it
// shows is real. The Subject is the range of the edge that closes the walk
// (the last arrow), and the Detail lists every edge of the walk with its
// range. Diagnostics come in order of their smallest address, so the output
// is the same on every run.
//
// Building the walk costs about one edge per member for a simple cycle of
// any length. For a large and densely tangled component, whose walk would be
// too costly to find, the diagnostic lists the members in address order
// instead and the Subject is an edge of the component into its smallest
// address.
func (g *Graph) Validate() hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, c := range g.cycles() {
		diags = append(diags, g.cycleDiagnostic(c))
	}
	return diags
}

// Cycles returns every cycle that Validate reports, in the same order: each
// is the closed walk described there (its first and last elements are the
// same address) or, for a component too tangled to walk cheaply, its members
// in address order (first and last differ). It returns nil if the graph is
// acyclic.
func (g *Graph) Cycles() [][]string {
	var out [][]string
	for _, c := range g.cycles() {
		out = append(out, g.names(c.ids))
	}
	return out
}

func (g *Graph) names(ids []int) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = g.addrs[id]
	}
	return out
}

func (g *Graph) cycleDiagnostic(c cycle) *hcl.Diagnostic {
	names := g.names(c.ids)
	var detail strings.Builder
	if !c.walk {
		fmt.Fprintf(&detail, "The %d steps %s depend on each other in a cycle, so none of them can ever start. ",
			len(names), strings.Join(names, ", "))
		detail.WriteString("Remove the dependencies among them (depends_on entries, or references to another step's attributes) that close the cycle.")
		return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Dependency cycle", Detail: detail.String(), Subject: c.closing.Ptr()}
	}
	fmt.Fprintf(&detail, "The steps %s depend on each other, so none of them can ever start. ", strings.Join(names, " → "))
	detail.WriteString("Remove one of these dependencies (a depends_on entry, or a reference to another step's attributes):")
	for i := 0; i+1 < len(c.ids); i++ {
		r, _ := g.edgeRange(c.ids[i], c.ids[i+1])
		fmt.Fprintf(&detail, "\n  %s depends on %s", names[i], names[i+1])
		if r.Filename != "" {
			fmt.Fprintf(&detail, " (%s)", r)
		}
	}
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Dependency cycle",
		Detail:   detail.String(),
		Subject:  c.closing.Ptr(),
	}
}

func (g *Graph) edgeRange(from, to int) (hcl.Range, bool) {
	for _, e := range g.deps[from] {
		if e.to == to {
			return e.subject, true
		}
	}
	return hcl.Range{}, false
}

// cycles returns every cycle, ordered by smallest member.
func (g *Graph) cycles() []cycle {
	rank := g.ranks()
	var out []cycle
	for _, comp := range g.components() {
		if len(comp) == 1 {
			v := comp[0]
			if r, self := g.edgeRange(v, v); self {
				out = append(out, cycle{ids: []int{v, v}, walk: true, closing: r})
			}
			continue
		}
		out = append(out, g.componentCycle(comp))
	}
	slices.SortFunc(out, func(a, b cycle) int { return rank[a.ids[0]] - rank[b.ids[0]] })
	return out
}

// components returns the strongly connected components of the graph that
// are cycles: those of more than one vertex, and single vertices that depend
// on themselves (Tarjan's algorithm, iterative so that long chains cannot
// overflow the stack).
func (g *Graph) components() [][]int {
	n := len(g.addrs)
	index := make([]int, n)
	low := make([]int, n)
	onStack := make([]bool, n)
	for i := range index {
		index[i] = -1
	}
	var (
		stack []int
		comps [][]int
		next  int
	)
	type frame struct{ v, i int }
	var call []frame
	for root := 0; root < n; root++ {
		if index[root] >= 0 {
			continue
		}
		index[root], low[root] = next, next
		next++
		stack = append(stack, root)
		onStack[root] = true
		call = append(call, frame{v: root})
		for len(call) > 0 {
			f := &call[len(call)-1]
			if f.i < len(g.deps[f.v]) {
				w := g.deps[f.v][f.i].to
				f.i++
				switch {
				case index[w] < 0:
					index[w], low[w] = next, next
					next++
					stack = append(stack, w)
					onStack[w] = true
					call = append(call, frame{v: w})
				case onStack[w]:
					low[f.v] = min(low[f.v], index[w])
				}
				continue
			}
			v := f.v
			call = call[:len(call)-1]
			if len(call) > 0 {
				p := call[len(call)-1].v
				low[p] = min(low[p], low[v])
			}
			if low[v] != index[v] {
				continue
			}
			if stack[len(stack)-1] == v {
				// A component of one vertex, the common case: it is a
				// cycle only if the vertex depends on itself.
				stack = stack[:len(stack)-1]
				onStack[v] = false
				if _, self := g.edgeRange(v, v); self {
					comps = append(comps, []int{v})
				}
				continue
			}
			var comp []int
			for {
				w := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				onStack[w] = false
				comp = append(comp, w)
				if w == v {
					break
				}
			}
			comps = append(comps, comp)
		}
	}
	return comps
}

// componentCycle describes the strongly connected component comp as a
// closed walk through every member, starting and ending at its smallest
// address: from the current vertex it takes the shortest path (neighbours
// tried in address order) to the nearest member not yet on the walk, and
// finally the shortest path home. If that exceeds walkBudget, it lists the
// members in address order instead.
func (g *Graph) componentCycle(comp []int) cycle {
	rank := g.ranks()
	slices.SortFunc(comp, func(a, b int) int { return rank[a] - rank[b] })
	start := comp[0]
	in := make(map[int]bool, len(comp))
	for _, v := range comp {
		in[v] = true
	}
	// next[v]: v's dependencies inside the component, in address order.
	next := make(map[int][]int, len(comp))
	for _, v := range comp {
		var ns []int
		for _, e := range g.deps[v] {
			if in[e.to] {
				ns = append(ns, e.to)
			}
		}
		slices.SortFunc(ns, func(a, b int) int { return rank[a] - rank[b] })
		next[v] = ns
	}
	budget := walkBudget * len(comp)
	onWalk := map[int]bool{start: true}
	walk := []int{start}
	for ok := true; ok; {
		last := walk[len(walk)-1]
		var path []int
		if len(onWalk) < len(comp) {
			path, ok = shortestPath(next, last, func(v int) bool { return !onWalk[v] }, &budget)
		} else {
			path, ok = shortestPath(next, last, func(v int) bool { return v == start }, &budget)
			if ok {
				walk = append(walk, path...)
				r, _ := g.edgeRange(walk[len(walk)-2], start)
				return cycle{ids: walk, walk: true, closing: r}
			}
		}
		for _, v := range path {
			onWalk[v] = true
		}
		walk = append(walk, path...)
	}
	// Too tangled: list the members, closed by the smallest member's edge
	// into the first one.
	c := cycle{ids: comp}
	for _, v := range comp {
		if r, ok := g.edgeRange(v, start); ok {
			c.closing = r
			break
		}
	}
	return c
}

// shortestPath returns the vertices after from on a shortest path to the
// first vertex satisfying goal, exploring neighbours in the order next gives
// and charging each edge explored to budget. It reports false if the budget
// runs out. The component is strongly connected, so a path always exists.
func shortestPath(next map[int][]int, from int, goal func(int) bool, budget *int) ([]int, bool) {
	parent := map[int]int{from: from}
	queue := []int{from}
	for len(queue) > 0 {
		u := queue[0]
		queue = queue[1:]
		for _, w := range next[u] {
			if *budget--; *budget < 0 {
				return nil, false
			}
			if _, seen := parent[w]; seen {
				continue
			}
			parent[w] = u
			if goal(w) {
				var path []int
				for v := w; v != from; v = parent[v] {
					path = append(path, v)
				}
				slices.Reverse(path)
				return path, true
			}
			queue = append(queue, w)
		}
	}
	panic("dag: no path inside a strongly connected component")
}
