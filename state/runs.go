package state

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"

	"github.com/runbook-dev/runbook/executor/journal"
)

// Summaries summarises every run of the backend, oldest first, for
// `runbook runs`: each journal is verified as a chain and against the head
// the state document recorded, so a journal cut short or rewritten is
// listed as broken with the reason.
func Summaries(ctx context.Context, b Backend) ([]journal.RunSummary, error) {
	runs, err := b.Runs(ctx)
	if err != nil || len(runs) == 0 {
		return nil, err
	}
	doc, _, err := ReadDocument(ctx, b)
	if err != nil {
		return nil, err
	}
	// The journals are read a few at a time: over a WAN each read is a
	// round trip, and `runs` reads them all.
	out := make([]journal.RunSummary, len(runs))
	sem := make(chan struct{}, summaryReaders)
	var wg sync.WaitGroup
	for i, run := range runs {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			out[i] = summarise(ctx, b, doc, run)
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b journal.RunSummary) int {
		if c := a.Started.Compare(b.Started); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// summaryReaders bounds the journals Summaries reads at once.
const summaryReaders = 8

// summarise reads and summarises one run's journal, checked against the
// head the document recorded.
func summarise(ctx context.Context, b Backend, doc *Document, run string) journal.RunSummary {
	name := b.String() + " run " + run
	data, err := b.ReadJournal(ctx, run)
	if err != nil {
		return journal.RunSummary{ID: run, Path: name, Status: journal.RunUnfinished, Chain: journal.ChainBroken, Problem: err.Error()}
	}
	s := journal.Summarise(run, name, data)
	if h, ok := doc.Runs[run]; ok && s.Chain != journal.ChainBroken {
		if err := journal.CheckHead(name, data, h.Records, h.Hash); err != nil {
			s.Chain, s.Problem = journal.ChainBroken, err.Error()
		}
	}
	return s
}

// ReadRun returns a run's verified records, checked against its recorded
// head (see VerifyJournal).
func ReadRun(ctx context.Context, b Backend, run string) ([]journal.Record, error) {
	doc, _, err := ReadDocument(ctx, b)
	if err != nil {
		return nil, err
	}
	_, recs, err := VerifyJournal(ctx, b, doc, run)
	if errors.Is(err, ErrNotFound) {
		return nil, err
	}
	return recs, err
}
