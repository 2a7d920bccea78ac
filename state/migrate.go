package state

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/runbook-dev/runbook/executor/journal"
)

// Unmigrated returns, sorted, the runs whose journals are in from and not
// in to: with a backend newly configured, the local journals that plan
// must not ignore (their history, their unfinished runs).
func Unmigrated(ctx context.Context, from, to Backend) ([]string, error) {
	have, err := from.Runs(ctx)
	if err != nil || len(have) == 0 {
		return nil, err
	}
	there, err := runsOf(ctx, to)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, r := range have {
		if _, found := slices.BinarySearch(there, r); !found {
			out = append(out, r)
		}
	}
	return out, nil
}

// runsOf returns the sorted ids of b's runs: from the state document when
// it is indexed (one read, whatever the number of runs), else by listing
// the journals.
func runsOf(ctx context.Context, b Backend) ([]string, error) {
	doc, _, err := ReadDocument(ctx, b)
	if err != nil {
		return nil, err
	}
	if !doc.Indexed {
		return b.Runs(ctx)
	}
	runs := make([]string, 0, len(doc.Runs))
	for id := range doc.Runs {
		runs = append(runs, id)
	}
	slices.Sort(runs)
	return runs, nil
}

// Migrated is one run copied by Migrate.
type Migrated struct {
	Run     string
	Records int
	// Cut is the length of a torn last line left out (a crash in the
	// middle of a local write), 0 when there was none.
	Cut int
	// Fingerprinted lists, sorted, the steps this run applied successfully
	// whose result holds a fingerprint of a secret (FingerprintPrefix):
	// made with the local key, it matches nothing under another key, so a
	// plan with the backend's key proposes those steps once more.
	Fingerprinted []string
}

// fingerprinted returns the steps whose successful results in recs hold a
// fingerprint, sorted.
func fingerprinted(recs []journal.Record) []string {
	var steps []string
	for _, r := range recs {
		if r.Type != journal.StepResult || r.Status != journal.Succeeded {
			continue
		}
		keyed := strings.HasPrefix(r.Fingerprint, FingerprintPrefix) // journals before Result
		for _, v := range r.Result {
			keyed = keyed || strings.HasPrefix(v, FingerprintPrefix)
		}
		if keyed && !slices.Contains(steps, r.Step) {
			steps = append(steps, r.Step)
		}
	}
	slices.Sort(steps)
	return steps
}

// Migrate copies every journal of from that to lacks, after verifying its
// chain, and records each one's head in to's state document. A journal
// whose chain is broken stops the migration before anything of it is
// copied: it must be looked at, not spread. A torn last line is left out,
// as a resume would cut it off.
func Migrate(ctx context.Context, from, to Backend) ([]Migrated, error) {
	runs, err := Unmigrated(ctx, from, to)
	if err != nil {
		return nil, err
	}
	var done []Migrated
	heads := map[string]RunHead{}
	for _, run := range runs {
		data, err := from.ReadJournal(ctx, run)
		if err != nil {
			return done, err
		}
		recs, err := journal.Parse(data)
		cut := 0
		var torn *journal.TornTailError
		if errors.As(err, &torn) {
			cut, data, err = torn.Bytes, data[:torn.Offset], nil
		}
		if err != nil {
			return done, fmt.Errorf("%s run %s: %w; nothing of it was copied", from, run, err)
		}
		if len(recs) == 0 {
			continue // created and never written
		}
		if err := to.ImportJournal(ctx, run, data); err != nil {
			return done, err
		}
		h, _ := headOf(data)
		heads[run] = h
		done = append(done, Migrated{Run: run, Records: len(recs), Cut: cut, Fingerprinted: fingerprinted(recs)})
	}
	if len(heads) == 0 {
		return done, nil
	}
	_, err = Update(ctx, to, func(d *Document) error {
		for run, h := range heads {
			d.SetHead(run, h)
		}
		return nil
	})
	if err != nil {
		return done, err
	}
	// The migrated runs' successes go into the document's Steps, so that
	// plans read them without replaying the journals.
	_, err = Index(ctx, to)
	return done, err
}
