package azurerm

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/clock"
	"github.com/runbook-dev/runbook/executor"
	"github.com/runbook-dev/runbook/executor/journal"
	"github.com/runbook-dev/runbook/state"
	"github.com/runbook-dev/runbook/state/local"
	"github.com/runbook-dev/runbook/state/statetest"
)

// BenchmarkApplyJournal applies 1,000 layered zero-latency steps (layers
// of ten, parallelism 10) with the journal in the local backend (fsync per
// batch) and in Azurite (one Append Block per batch), and reports the
// journal writes per apply; the journal+document variants also keep the
// state document in step as an apply does (state.Recorder), and report its
// writes. Group commit makes the steps that start
// together share one write, so the blob journal costs about one round trip
// per layer, not per step.
func BenchmarkApplyJournal(b *testing.B) {
	const steps = 1000
	rb, reg := statetest.Layered(b, steps)
	planned, diags := executor.Plan(context.Background(), executor.PlanOptions{Runbook: rb, Registry: reg, Clock: clock.Real, Key: []byte("k")})
	if diags.HasErrors() {
		b.Fatal(diags)
	}
	backends := map[string]func(b *testing.B) (state.Backend, func() int64){
		"local": func(b *testing.B) (state.Backend, func() int64) {
			return local.New(b.TempDir()), nil
		},
		"azurite": benchBackend,
	}
	for _, bench := range []struct {
		name     string
		recorded bool
	}{{"local", false}, {"azurite", false}, {"local", true}, {"azurite", true}} {
		name, what := bench.name, "journal"
		if bench.recorded {
			what = "journal+document"
		}
		b.Run(fmt.Sprintf("%s/%s/layered/%d", name, what, steps), func(b *testing.B) {
			be, requests := backends[name](b)
			var writes uint64
			var docWrites int
			var reqs int64
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				ctx := context.Background()
				var before int64
				if requests != nil {
					before = requests()
				}
				run := fmt.Sprintf("run-%d", i)
				var rec *state.Recorder
				if bench.recorded {
					if _, err := state.Index(ctx, be); err != nil {
						b.Fatal(err)
					}
					var err error
					if rec, err = state.StartRecorder(ctx, be, run, state.RunHead{Started: time.Now()}); err != nil {
						b.Fatal(err)
					}
				}
				j, err := be.CreateJournal(ctx, run, clock.Real)
				if err != nil {
					b.Fatal(err)
				}
				if rec != nil {
					j.OnDurable(rec.Durable)
				}
				j.Append(journal.Record{Type: journal.RunStarted})
				res := executor.Apply(ctx, executor.ApplyOptions{
					Runbook: rb, Planned: planned, Registry: reg, Clock: clock.Real, Journal: j, Parallelism: 10,
				})
				if !res.OK() {
					b.Fatalf("apply failed: %s", res.Stopped)
				}
				if err := j.Close(); err != nil {
					b.Fatal(err)
				}
				if rec != nil {
					seq, hash := j.Head()
					if err := rec.Finish(journal.RunSucceeded, seq, hash); err != nil {
						b.Fatal(err)
					}
					docWrites += rec.Writes()
				}
				writes += j.Syncs()
				if requests != nil {
					reqs += requests() - before
				}
			}
			b.ReportMetric(float64(writes)/float64(b.N), "writes/op")
			if bench.recorded {
				b.ReportMetric(float64(docWrites)/float64(b.N), "docwrites/op")
			}
			if requests != nil {
				b.ReportMetric(float64(reqs)/float64(b.N), "requests/op")
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/op")
		})
	}
}
