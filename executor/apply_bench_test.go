package executor_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/clock"
	"github.com/runbook-dev/runbook/executor"
	"github.com/runbook-dev/runbook/executor/journal"
	"github.com/runbook-dev/runbook/executor/steptest"
	"github.com/runbook-dev/runbook/internal/gen"
	"github.com/runbook-dev/runbook/lang"
)

// BenchmarkApply applies generated runbooks with the test double and the
// real journal on disk (fsync per batch). "zero" steps return at once, so
// the benchmark measures the engine and the journal; "latency" steps take
// a fixed time on the wall clock, so the result can be compared with the
// DAG's critical path.
func BenchmarkApply(b *testing.B) {
	type bench struct {
		shape   gen.Shape
		steps   int
		latency time.Duration
	}
	var benches []bench
	for _, n := range []int{1000, 10000} {
		for _, s := range gen.Shapes {
			benches = append(benches, bench{s, n, 0})
		}
	}
	benches = append(benches, bench{gen.Layered, 1000, 10 * time.Millisecond}, bench{gen.Wide, 1000, 10 * time.Millisecond}, bench{gen.Layered, 1000, 50 * time.Millisecond})
	for _, bc := range benches {
		name := fmt.Sprintf("%s/%d/zero", bc.shape, bc.steps)
		if bc.latency > 0 {
			name = fmt.Sprintf("%s/%d/latency=%s", bc.shape, bc.steps, bc.latency)
		}
		b.Run(name, func(b *testing.B) {
			src := gen.Runbook(gen.Options{Shape: bc.shape, Steps: bc.steps})
			typ := &steptest.Type{}
			if bc.latency > 0 {
				typ.ApplyFn = func(ctx context.Context, req *executor.ApplyRequest) *executor.ApplyResponse {
					return &executor.ApplyResponse{Err: req.Clock.Sleep(ctx, bc.latency)}
				}
			}
			reg := executor.NewRegistry(typ)
			rb, diags := lang.Load(fsMap(src), ".", lang.Options{StepTypes: []string{"test"}})
			if diags.HasErrors() {
				b.Fatal(diags)
			}
			planned, diags := executor.Plan(context.Background(), executor.PlanOptions{Runbook: rb, Registry: reg, Clock: clock.Real, Key: []byte("k")})
			if diags.HasErrors() {
				b.Fatal(diags)
			}
			var syncs uint64
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				j, err := journal.Create(b.TempDir(), "run", clock.Real)
				if err != nil {
					b.Fatal(err)
				}
				j.Append(journal.Record{Type: journal.RunStarted, Run: "run"})
				res := executor.Apply(context.Background(), executor.ApplyOptions{
					Runbook: rb, Planned: planned, Registry: reg, Clock: clock.Real, Journal: j, Parallelism: 10,
				})
				if !res.OK() {
					b.Fatalf("apply failed: %s", res.Stopped)
				}
				syncs += j.Syncs()
				j.Close()
			}
			b.ReportMetric(float64(syncs)/float64(b.N), "fsyncs/op")
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/float64(bc.steps), "µs/step")
			if bc.latency > 0 {
				// Layers of ten for layered; for wide, parallelism 10 over
				// independent steps gives the same count of rounds.
				critical := time.Duration(bc.steps/10) * bc.latency
				b.ReportMetric(float64(b.Elapsed())/float64(b.N)/float64(critical), "x-critical-path")
			}
		})
	}
}
