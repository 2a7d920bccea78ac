package state

import (
	"context"
	"errors"
	"fmt"
	"slices"

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
	there, err := to.Runs(ctx)
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

// Migrated is one run copied by Migrate.
type Migrated struct {
	Run     string
	Records int
	// Cut is the length of a torn last line left out (a crash in the
	// middle of a local write), 0 when there was none.
	Cut int
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
		last := recs[len(recs)-1]
		_, hash, _ := journal.HeadOf(data)
		h := RunHead{Records: last.Seq, Hash: hash, Started: recs[0].Time, User: recs[0].User, Host: recs[0].Host, PlanID: recs[0].PlanID}
		for _, r := range recs {
			if r.Type == journal.RunEnded {
				h.Status = string(r.Status)
			} else if r.Type == journal.RunResumed {
				h.Status = ""
			}
		}
		heads[run] = h
		done = append(done, Migrated{Run: run, Records: len(recs), Cut: cut})
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
	return done, err
}
