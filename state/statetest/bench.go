package statetest

import (
	"context"
	"fmt"
	"testing"
	"testing/fstest"
	"time"

	"github.com/runbook-dev/runbook/clock"
	"github.com/runbook-dev/runbook/executor"
	"github.com/runbook-dev/runbook/executor/journal"
	"github.com/runbook-dev/runbook/executor/steptest"
	"github.com/runbook-dev/runbook/internal/gen"
	"github.com/runbook-dev/runbook/lang"
	"github.com/runbook-dev/runbook/state"
)

// BenchPlanAfterRuns plans a 1,000-step runbook as `runbook plan` does
// (the history read from the backend, then the planner) after 0, 1 and
// 100 earlier runs that each succeeded at every step, journalled and
// recorded as an apply does it. The goal: the plan after 100 runs within
// 10% of the plan after 1 (0 runs means no history at all). It reports
// the backend's requests per plan when requests is not nil.
func BenchPlanAfterRuns(b *testing.B, newEmpty func(b *testing.B) (state.Backend, func() int64)) {
	const steps = 1000
	rb, reg := Layered(b, steps)
	addrs := make([]string, 0, steps)
	for _, s := range rb.Steps {
		addrs = append(addrs, s.Address().String())
	}
	for _, runs := range []int{0, 1, 100} {
		b.Run(fmt.Sprintf("runs=%d/steps=%d", runs, steps), func(b *testing.B) {
			ctx := context.Background()
			be, requests := newEmpty(b)
			clk := clock.NewFake(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
			for r := range runs {
				clk.Advance(time.Minute)
				recordRun(b, ctx, be, clk, fmt.Sprintf("run-%03d", r), addrs)
			}
			var before int64
			if requests != nil {
				before = requests()
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				h, err := state.LoadHistory(ctx, be)
				if err != nil {
					b.Fatal(err)
				}
				if runs > 0 && len(h) != steps {
					b.Fatalf("history of %d steps, want %d", len(h), steps)
				}
				_, diags := executor.Plan(ctx, executor.PlanOptions{Runbook: rb, Registry: reg, Clock: clk, Key: []byte("k"), History: h.Of})
				if diags.HasErrors() {
					b.Fatal(diags)
				}
			}
			if requests != nil {
				b.ReportMetric(float64(requests()-before)/float64(b.N), "requests/op")
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
		})
	}
}

// Layered loads a generated runbook of n zero-latency test steps in
// layers of ten, with the registry that runs them: the runbook the
// benchmarks plan and apply.
func Layered(b *testing.B, n int) (*lang.Runbook, *executor.Registry) {
	src := gen.Runbook(gen.Options{Shape: gen.Layered, Steps: n})
	rb, diags := lang.Load(fstest.MapFS{"main.runbook.hcl": {Data: []byte(src)}}, ".", lang.Options{StepTypes: []string{"test"}})
	if diags.HasErrors() {
		b.Fatal(diags)
	}
	return rb, executor.NewRegistry(&steptest.Type{})
}

// recordRun journals a run in which every step succeeded, recorded in the
// state document as an apply records it (indexed first, as under the
// apply's lock).
func recordRun(b *testing.B, ctx context.Context, be state.Backend, clk clock.Clock, id string, steps []string) {
	if _, err := state.Index(ctx, be); err != nil {
		b.Fatal(err)
	}
	rec, err := state.StartRecorder(ctx, be, id, state.RunHead{Started: clk.Now()})
	if err != nil {
		b.Fatal(err)
	}
	j, err := be.CreateJournal(ctx, id, clk)
	if err != nil {
		b.Fatal(err)
	}
	j.OnDurable(rec.Durable)
	j.Queue(journal.Record{Type: journal.RunStarted})
	for _, s := range steps {
		j.Queue(journal.Record{Type: journal.StepIntent, Step: s, Attempt: 1, Action: "update"})
		j.Queue(journal.Record{Type: journal.StepResult, Step: s, Attempt: 1, Status: journal.Succeeded,
			Result: map[string]string{"fingerprint": fmt.Sprintf("%064x", len(id)+len(s))}})
	}
	if err := j.Append(journal.Record{Type: journal.RunEnded, Status: journal.Succeeded}); err != nil {
		b.Fatal(err)
	}
	if err := j.Close(); err != nil {
		b.Fatal(err)
	}
	seq, hash := j.Head()
	if err := rec.Finish(journal.RunSucceeded, seq, hash); err != nil {
		b.Fatal(err)
	}
}
