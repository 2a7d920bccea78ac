package azurerm

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/clock"
	"github.com/runbook-dev/runbook/executor/journal"
	"github.com/runbook-dev/runbook/internal/azuritetest"
	"github.com/runbook-dev/runbook/state"
)

// BenchmarkLoadHistory reads the history of a 1,000-step runbook, as plan
// does, after 0, 1 and 100 earlier runs that each succeeded at all
// 1,000 steps and were settled into the state document. The document
// holds the last success per step, so the cost must not grow with the
// number of runs: only the latest run's journal is replayed. (0 runs
// means no history at all; compare 1 with 100.)
func BenchmarkLoadHistory(b *testing.B) {
	const steps = 1000
	for _, runs := range []int{0, 1, 100} {
		b.Run(fmt.Sprintf("runs=%d/steps=%d", runs, steps), func(b *testing.B) {
			ctx := context.Background()
			s, name := azuritetest.Container(b)
			be, err := New(Config{Account: azuritetest.Account, Endpoint: s.Endpoint, Container: name, Key: "bench",
				AccessKey: azuritetest.Key, Clock: clock.Real})
			if err != nil {
				b.Fatal(err)
			}
			for r := 0; r < runs; r++ {
				id := fmt.Sprintf("20261201T%06dZ-%06d", r, r)
				j, err := be.CreateJournal(ctx, id, clock.Real)
				if err != nil {
					b.Fatal(err)
				}
				j.Append(journal.Record{Type: journal.RunStarted, Run: id})
				j.Append(journal.Record{Type: journal.RunEnded, Status: journal.Succeeded})
				if err := j.Close(); err != nil {
					b.Fatal(err)
				}
				done := &journal.Run{ID: id, Status: journal.RunSucceeded, Steps: map[string]*journal.Step{}}
				for i := 0; i < steps; i++ {
					done.Steps[fmt.Sprintf("step.s%04d", i)] = &journal.Step{Status: journal.Succeeded,
						Updated: time.Date(2026, 12, 1, 0, r, 0, 0, time.UTC), Result: map[string]string{"fingerprint": fmt.Sprintf("%064d", r)}}
				}
				if _, err := state.Update(ctx, be, func(d *state.Document) error { d.Settle(done); return nil }); err != nil {
					b.Fatal(err)
				}
			}
			before := be.Stats().Requests
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				h, err := state.LoadHistory(ctx, be)
				if err != nil {
					b.Fatal(err)
				}
				if runs > 0 && len(h) != steps {
					b.Fatalf("history of %d steps, want %d", len(h), steps)
				}
			}
			b.ReportMetric(float64(be.Stats().Requests-before)/float64(b.N), "requests/op")
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
		})
	}
}
