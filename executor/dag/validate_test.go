package dag

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
)

func TestValidate(t *testing.T) {
	type cycle struct {
		Walk        []string
		SubjectLine int
	}
	tests := map[string]struct {
		edges []e
		want  []cycle
	}{
		"diamond has no cycle": {
			edges: []e{{"step.b", "step.a", 1}, {"step.c", "step.a", 2}, {"step.d", "step.b", 3}, {"step.d", "step.c", 4}},
		},
		"two": {
			edges: []e{{"step.b", "step.a", 1}, {"step.a", "step.b", 2}},
			want:  []cycle{{[]string{"step.a", "step.b", "step.a"}, 1}},
		},
		"three, declared out of order": {
			edges: []e{{"step.c", "step.a", 3}, {"step.a", "step.b", 1}, {"step.b", "step.c", 2}},
			want:  []cycle{{[]string{"step.a", "step.b", "step.c", "step.a"}, 3}},
		},
		"self": {
			edges: []e{{"step.x", "step.x", 7}, {"step.y", "step.x", 8}},
			want:  []cycle{{[]string{"step.x", "step.x"}, 7}},
		},
		"two disjoint cycles and a bystander": {
			edges: []e{
				{"step.q", "step.p", 1}, {"step.p", "step.r", 2}, {"step.r", "step.q", 3},
				{"step.b", "step.a", 4}, {"step.a", "step.b", 5},
				{"step.m", "step.a", 6},
			},
			want: []cycle{
				{[]string{"step.a", "step.b", "step.a"}, 4},
				{[]string{"step.p", "step.r", "step.q", "step.p"}, 1},
			},
		},
		"component that is not a simple cycle": {
			edges: []e{{"step.a", "step.b", 1}, {"step.b", "step.a", 2}, {"step.b", "step.c", 3}, {"step.c", "step.b", 4}},
			want:  []cycle{{[]string{"step.a", "step.b", "step.c", "step.b", "step.a"}, 2}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			g := build(nil, tc.edges)
			var got []cycle
			for _, d := range g.Validate() {
				if d.Severity != hcl.DiagError || d.Summary != "Dependency cycle" || d.Subject == nil {
					t.Fatalf("diagnostic = %+v", d)
				}
				walk := strings.SplitN(strings.TrimPrefix(d.Detail, "The steps "), " depend on", 2)[0]
				got = append(got, cycle{strings.Split(walk, " → "), d.Subject.Start.Line})
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("cycles (-want +got):\n%s", diff)
			}
			var walks [][]string
			for _, c := range tc.want {
				walks = append(walks, c.Walk)
			}
			if diff := cmp.Diff(walks, g.Cycles()); diff != "" {
				t.Errorf("Cycles (-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidateDetailNamesEveryEdge(t *testing.T) {
	g := build(nil, []e{{"step.b", "step.a", 1}, {"step.a", "step.b", 2}})
	diags := g.Validate()
	want := "The steps step.a → step.b → step.a depend on each other, so none of them can ever start. " +
		"Remove one of these dependencies (a depends_on entry, or a reference to another step's attributes):\n" +
		"  step.a depends on step.b (main.runbook.hcl:2,16-24)\n" +
		"  step.b depends on step.a (main.runbook.hcl:1,16-24)"
	if len(diags) != 1 {
		t.Fatalf("got %d diagnostics, want 1", len(diags))
	}
	if diff := cmp.Diff(want, diags[0].Detail); diff != "" {
		t.Errorf("Detail (-want +got):\n%s", diff)
	}
}

// TestValidateDeterministic builds the same cyclic graph in many insertion
// orders; the diagnostics must not change.
func TestValidateDeterministic(t *testing.T) {
	edges := []e{
		{"step.c", "step.a", 1}, {"step.a", "step.b", 2}, {"step.b", "step.c", 3}, {"step.b", "step.d", 4},
		{"step.d", "step.b", 5}, {"step.z", "step.z", 6}, {"step.y", "step.x", 7}, {"step.x", "step.y", 8},
	}
	first := build(nil, edges).Validate()
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 50 {
		r.Shuffle(len(edges), func(i, j int) { edges[i], edges[j] = edges[j], edges[i] })
		if diff := cmp.Diff(first, build(nil, edges).Validate()); diff != "" {
			t.Fatalf("shuffle %d changed the diagnostics (-first +got):\n%s", i, diff)
		}
	}
}

func TestValidateLongCycle(t *testing.T) {
	for _, n := range []int{500, 10_000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			g := chain(n)
			g.Connect(addr(0), addr(n-1), rng(99))
			cycles := g.Cycles()
			if len(cycles) != 1 {
				t.Fatalf("got %d cycles, want 1", len(cycles))
			}
			c := cycles[0]
			if len(c) != n+1 || c[0] != addr(0) || c[len(c)-1] != addr(0) {
				t.Fatalf("cycle has %d entries from %s to %s", len(c), c[0], c[len(c)-1])
			}
			members := map[string]bool{}
			for _, a := range c {
				members[a] = true
			}
			if len(members) != n {
				t.Errorf("cycle names %d distinct steps, want %d", len(members), n)
			}
			// The closing edge is step.s00001 → step.s00000, from chain.
			if d := g.Validate(); len(d) != 1 || d[0].Subject == nil || d[0].Subject.Filename != "" {
				t.Errorf("Validate returned %d diagnostics, or the wrong closing edge", len(d))
			}
		})
	}
}

func TestValidateTangledComponentFallback(t *testing.T) {
	defer func(b int) { walkBudget = b }(walkBudget)
	walkBudget = 1
	// Every vertex depends on every other one.
	var edges []e
	names := []string{"step.d", "step.a", "step.c", "step.b"}
	for i, x := range names {
		for j, y := range names {
			if x != y {
				edges = append(edges, e{x, y, 10*i + j})
			}
		}
	}
	g := build(nil, edges)
	want := [][]string{{"step.a", "step.b", "step.c", "step.d"}}
	if diff := cmp.Diff(want, g.Cycles()); diff != "" {
		t.Errorf("Cycles (-want +got):\n%s", diff)
	}
	d := g.Validate()
	if len(d) != 1 {
		t.Fatalf("got %d diagnostics, want 1", len(d))
	}
	if !strings.HasPrefix(d[0].Detail, "The 4 steps step.a, step.b, step.c, step.d depend on each other in a cycle") {
		t.Errorf("Detail = %q", d[0].Detail)
	}
	// The closing edge is the smallest member's edge into step.a:
	// step.b → step.a, declared on line 10*3+1.
	if got := d[0].Subject.Start.Line; got != 31 {
		t.Errorf("Subject line = %d, want 31", got)
	}
}
