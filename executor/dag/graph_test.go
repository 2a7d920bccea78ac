package dag

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestGraphAccessors(t *testing.T) {
	g := build([]string{"step.z", "step.b"}, []e{
		{"step.d", "step.b", 1},
		{"step.d", "step.a", 2},
		{"step.c", "step.a", 3},
		{"step.d", "step.b", 4}, // duplicate: the first range is kept
	})
	type view struct {
		Len                  int
		Vertices             []string
		DepsD, UsersA, UsesZ []string
		HasA, HasQ           bool
		SubjectLine          int
	}
	r, ok := g.Subject("step.d", "step.b")
	if !ok {
		t.Fatal("Subject(step.d, step.b) not found")
	}
	got := view{
		Len:         g.Len(),
		Vertices:    g.Vertices(),
		DepsD:       g.Dependencies("step.d"),
		UsersA:      g.Dependents("step.a"),
		UsesZ:       g.Dependents("step.z"),
		HasA:        g.Has("step.a"),
		HasQ:        g.Has("step.q"),
		SubjectLine: r.Start.Line,
	}
	want := view{
		Len:         5,
		Vertices:    []string{"step.a", "step.b", "step.c", "step.d", "step.z"},
		DepsD:       []string{"step.a", "step.b"},
		UsersA:      []string{"step.c", "step.d"},
		UsesZ:       []string{},
		HasA:        true,
		SubjectLine: 1,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("graph (-want +got):\n%s", diff)
	}
	if _, ok := g.Subject("step.b", "step.d"); ok {
		t.Error("Subject found an edge in the wrong direction")
	}
}

func TestConnectUnknownVertexPanics(t *testing.T) {
	g := New()
	g.Add("step.a")
	defer func() {
		r := recover()
		if r == nil || !strings.Contains(r.(string), `"step.nope"`) {
			t.Fatalf("recover() = %v, want a panic naming step.nope", r)
		}
	}()
	g.Connect("step.a", "step.nope", rng(1))
}

func TestDOT(t *testing.T) {
	g := build([]string{"step.solo"}, []e{
		{"step.rotate", "step.import", 1},
		{"step.verify", "step.rotate", 2},
		{"step.verify", "step.import", 3},
	})
	want := `digraph runbook {
	rankdir = "LR";
	node [shape = "box"];
	"step.import";
	"step.rotate";
	"step.solo";
	"step.verify";
	"step.import" -> "step.rotate";
	"step.import" -> "step.verify";
	"step.rotate" -> "step.verify";
}
`
	if diff := cmp.Diff(want, g.DOT()); diff != "" {
		t.Errorf("DOT (-want +got):\n%s", diff)
	}
	if got := dotQuote(`a"b\c`); got != `"a\"b\\c"` {
		t.Errorf("dotQuote = %s", got)
	}
}
