package dag

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
)

// rng returns a distinct source range for the edge declared on line.
func rng(line int) hcl.Range {
	return hcl.Range{
		Filename: "main.runbook.hcl",
		Start:    hcl.Pos{Line: line, Column: 16, Byte: line * 100},
		End:      hcl.Pos{Line: line, Column: 24, Byte: line*100 + 8},
	}
}

// e is an edge of a test graph: From depends on To, declared on Line.
type e struct {
	From, To string
	Line     int
}

// build returns a graph with the given vertices and edges.
func build(vertices []string, edges []e) *Graph {
	g := New()
	for _, v := range vertices {
		g.Add(v)
	}
	for _, x := range edges {
		g.Add(x.From)
		g.Add(x.To)
		g.Connect(x.From, x.To, rng(x.Line))
	}
	return g
}

func addr(i int) string { return fmt.Sprintf("step.s%05d", i) }

// chain: s00001 depends on s00000, s00002 on s00001, …
func chain(n int) *Graph {
	g := New()
	for i := range n {
		g.Add(addr(i))
		if i > 0 {
			g.Connect(addr(i), addr(i-1), hcl.Range{})
		}
	}
	return g
}

// wide: n independent vertices.
func wide(n int) *Graph {
	g := New()
	for i := range n {
		g.Add(addr(i))
	}
	return g
}

// layered: layers of 100 vertices; each vertex depends on three vertices of
// the layer before it.
func layered(n int) *Graph {
	const width = 100
	g := New()
	for i := range n {
		g.Add(addr(i))
		if i < width {
			continue
		}
		base := (i/width - 1) * width
		for _, k := range []int{i % width, (i*7 + 3) % width, (i*13 + 5) % width} {
			g.Connect(addr(i), addr(base+k), hcl.Range{})
		}
	}
	return g
}

var shapes = []struct {
	name string
	make func(int) *Graph
}{
	{"chain", chain},
	{"wide", wide},
	{"layered", layered},
}
