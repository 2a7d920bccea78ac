package dag

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestTopoOrder(t *testing.T) {
	tests := map[string]struct {
		vertices []string
		edges    []e
		want     []string
	}{
		"empty": {want: []string{}},
		"diamond": {
			edges: []e{{"step.d", "step.b", 1}, {"step.d", "step.c", 2}, {"step.b", "step.a", 3}, {"step.c", "step.a", 4}},
			want:  []string{"step.a", "step.b", "step.c", "step.d"},
		},
		"ties broken by address, dependencies first": {
			vertices: []string{"step.b"},
			edges:    []e{{"step.a", "step.c", 1}, {"step.c", "step.z", 2}},
			want:     []string{"step.b", "step.z", "step.c", "step.a"},
		},
		"a newly ready vertex may come before an older ready one": {
			vertices: []string{"step.m"},
			edges:    []e{{"step.b", "step.a", 1}},
			want:     []string{"step.a", "step.b", "step.m"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := build(tc.vertices, tc.edges).TopoOrder()
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("TopoOrder (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTopoOrderCycle(t *testing.T) {
	g := build([]string{"step.free"}, []e{{"step.a", "step.b", 1}, {"step.b", "step.a", 2}})
	if _, err := g.TopoOrder(); !errors.Is(err, ErrCycle) {
		t.Errorf("TopoOrder error = %v, want ErrCycle", err)
	}
	if _, err := g.CriticalPath(func(string) time.Duration { return 0 }); !errors.Is(err, ErrCycle) {
		t.Errorf("CriticalPath error = %v, want ErrCycle", err)
	}
}

func TestCriticalPath(t *testing.T) {
	tests := map[string]struct {
		vertices []string
		edges    []e
		dur      map[string]time.Duration
		want     CriticalPath
	}{
		"empty": {want: CriticalPath{Remaining: map[string]time.Duration{}}},
		"diamond": {
			edges: []e{{"step.d", "step.b", 1}, {"step.d", "step.c", 2}, {"step.b", "step.a", 3}, {"step.c", "step.a", 4}},
			dur: map[string]time.Duration{
				"step.a": time.Hour, "step.b": 2 * time.Hour, "step.c": 30 * time.Minute, "step.d": time.Hour,
			},
			want: CriticalPath{
				Length: 4 * time.Hour,
				Path:   []string{"step.a", "step.b", "step.d"},
				Remaining: map[string]time.Duration{
					"step.a": 4 * time.Hour, "step.b": 3 * time.Hour,
					"step.c": 90 * time.Minute, "step.d": time.Hour,
				},
			},
		},
		"equal chains tie by address": {
			edges: []e{{"step.rotate", "step.import", 1}, {"step.verify", "step.import", 2}},
			dur: map[string]time.Duration{
				"step.import": 5 * time.Minute, "step.rotate": 4 * time.Hour, "step.verify": 4 * time.Hour,
			},
			want: CriticalPath{
				Length: 4*time.Hour + 5*time.Minute,
				Path:   []string{"step.import", "step.rotate"},
				Remaining: map[string]time.Duration{
					"step.import": 4*time.Hour + 5*time.Minute, "step.rotate": 4 * time.Hour, "step.verify": 4 * time.Hour,
				},
			},
		},
		"independent step is the longest": {
			vertices: []string{"step.bmc"},
			edges:    []e{{"step.rotate", "step.import", 1}},
			dur: map[string]time.Duration{
				"step.bmc": 5 * time.Hour, "step.import": 5 * time.Minute, "step.rotate": 4 * time.Hour,
			},
			want: CriticalPath{
				Length: 5 * time.Hour,
				Path:   []string{"step.bmc"},
				Remaining: map[string]time.Duration{
					"step.bmc": 5 * time.Hour, "step.import": 4*time.Hour + 5*time.Minute, "step.rotate": 4 * time.Hour,
				},
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			calls := map[string]int{}
			got, err := build(tc.vertices, tc.edges).CriticalPath(func(a string) time.Duration {
				calls[a]++
				return tc.dur[a]
			})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("CriticalPath (-want +got):\n%s", diff)
			}
			for a, n := range calls {
				if n != 1 {
					t.Errorf("duration(%s) called %d times, want once", a, n)
				}
			}
		})
	}
}

func TestLongChain(t *testing.T) {
	const n = 10_000
	g := chain(n)
	order, err := g.TopoOrder()
	if err != nil {
		t.Fatal(err)
	}
	for i, a := range order {
		if a != addr(i) {
			t.Fatalf("order[%d] = %s, want %s", i, a, addr(i))
		}
	}
	cp, err := g.CriticalPath(func(string) time.Duration { return time.Second })
	if err != nil {
		t.Fatal(err)
	}
	if cp.Length != n*time.Second || len(cp.Path) != n || cp.Remaining[addr(n-1)] != time.Second {
		t.Errorf("critical path: length %v, %d vertices, last remaining %v", cp.Length, len(cp.Path), cp.Remaining[addr(n-1)])
	}
	if len(g.Validate()) != 0 {
		t.Error("Validate reported a cycle in a chain")
	}
}
