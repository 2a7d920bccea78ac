package state_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/clock"
	"github.com/runbook-dev/runbook/executor/journal"
	"github.com/runbook-dev/runbook/state"
	"github.com/runbook-dev/runbook/state/local"
)

// TestSummariesOfManyRuns: the journals, read several at a time, come out
// oldest first, and a damaged one is listed as broken in its place.
func TestSummariesOfManyRuns(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	b := local.New(dir)
	const runs = 25
	for i := range runs {
		// Ids in the reverse order of their starts: the order comes from
		// the journals, not the names.
		clk := clock.NewFake(time.Date(2026, 12, 7, 9, i, 0, 0, time.UTC))
		j, err := b.CreateJournal(ctx, fmt.Sprintf("run-%02d", runs-i), clk)
		if err != nil {
			t.Fatal(err)
		}
		j.Append(journal.Record{Type: journal.RunStarted})
		j.Append(journal.Record{Type: journal.RunEnded, Status: journal.Succeeded})
		if err := j.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(b.RunsDir(), "run-07.jsonl"), []byte("{\"seq\":1}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := state.Summaries(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != runs {
		t.Fatalf("%d summaries, want %d", len(got), runs)
	}
	var order []string
	for _, s := range got {
		if s.ID == "run-07" {
			if s.Chain != journal.ChainBroken {
				t.Errorf("run-07 damaged, listed %v", s.Chain)
			}
			continue
		}
		order = append(order, s.ID)
		if s.Chain == journal.ChainBroken {
			t.Errorf("%s listed broken: %s", s.ID, s.Problem)
		}
	}
	for i := 1; i < len(order); i++ {
		if order[i-1] < order[i] {
			t.Fatalf("not oldest first: %v", order)
		}
	}
}
