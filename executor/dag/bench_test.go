package dag

import (
	"context"
	"fmt"
	"testing"
)

var sizes = []int{1_000, 10_000}

func BenchmarkTopo(b *testing.B) {
	for _, sh := range shapes {
		for _, n := range sizes {
			g := sh.make(n)
			b.Run(fmt.Sprintf("%s/%d", sh.name, n), func(b *testing.B) {
				for b.Loop() {
					if _, err := g.TopoOrder(); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func BenchmarkValidate(b *testing.B) {
	for _, sh := range shapes {
		for _, n := range sizes {
			g := sh.make(n)
			b.Run(fmt.Sprintf("%s/%d", sh.name, n), func(b *testing.B) {
				for b.Loop() {
					if d := g.Validate(); len(d) != 0 {
						b.Fatal(d)
					}
				}
			})
		}
	}
}

// BenchmarkWalk walks with a no-op Visit and parallelism 10, so it measures
// the walker's own cost: scheduling, goroutines and bookkeeping.
func BenchmarkWalk(b *testing.B) {
	noop := func(context.Context, string) error { return nil }
	for _, sh := range shapes {
		for _, n := range sizes {
			g := sh.make(n)
			b.Run(fmt.Sprintf("%s/%d", sh.name, n), func(b *testing.B) {
				for b.Loop() {
					res, err := g.Walk(context.Background(), WalkOptions{Parallelism: 10, Visit: noop})
					if err != nil || res.Stopped != nil {
						b.Fatal(err, res.Stopped)
					}
				}
			})
		}
	}
}
