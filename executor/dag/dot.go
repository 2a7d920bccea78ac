package dag

import (
	"slices"
	"strings"
)

// DOT returns the graph in Graphviz DOT syntax, for `runbook graph`.
//
// Arrows point from a dependency to its dependent, that is in the order the
// steps run, and the layout is left to right (rankdir=LR), so the picture
// reads like a timeline of the apply. (Terraform draws the opposite arrow,
// "depends on"; a runbook is read as a sequence of operations, so we follow
// the flow of time.) Vertices and edges are sorted by address and names are
// quoted, so the output is byte-for-byte stable.
func (g *Graph) DOT() string {
	var b strings.Builder
	b.WriteString("digraph runbook {\n")
	b.WriteString("\trankdir = \"LR\";\n")
	b.WriteString("\tnode [shape = \"box\"];\n")
	for _, a := range g.Vertices() {
		b.WriteString("\t" + dotQuote(a) + ";\n")
	}
	type pair struct{ from, to string }
	var edges []pair
	for v, ds := range g.deps {
		for _, e := range ds {
			edges = append(edges, pair{from: g.addrs[e.to], to: g.addrs[v]})
		}
	}
	slices.SortFunc(edges, func(x, y pair) int {
		if c := strings.Compare(x.from, y.from); c != 0 {
			return c
		}
		return strings.Compare(x.to, y.to)
	})
	for _, e := range edges {
		b.WriteString("\t" + dotQuote(e.from) + " -> " + dotQuote(e.to) + ";\n")
	}
	b.WriteString("}\n")
	return b.String()
}

// dotQuote returns s as a DOT quoted string.
func dotQuote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}
