package state

import (
	"context"
	"encoding/json"
	"slices"
	"time"

	"github.com/runbook-dev/runbook/addrs"
	"github.com/runbook-dev/runbook/executor/journal"
)

// stepEntry is the state document's form of a step's last success
// (Document.Steps).
type stepEntry struct {
	Result map[string]string `json:"result"`
	At     time.Time         `json:"at"`
}

// Settle copies what a finished run's journal tells of its steps'
// successes into the document's Steps (a later success recorded already is
// kept) and marks the run settled in Runs, so that LoadHistory need not
// replay it. A run that did not finish (stopped, unfinished) is not
// settled: a step it left in flight must stay visible.
func (d *Document) Settle(run *journal.Run) {
	if run.Status != journal.RunSucceeded && run.Status != journal.RunFailed {
		return
	}
	if d.Steps == nil {
		d.Steps = map[string]json.RawMessage{}
	}
	for addr, st := range run.Steps {
		if st.InFlight || st.Status != journal.Succeeded {
			continue
		}
		var cur stepEntry
		if raw, ok := d.Steps[addr]; ok && json.Unmarshal(raw, &cur) == nil && !st.Updated.After(cur.At) {
			continue
		}
		raw, err := json.Marshal(stepEntry{Result: result(st), At: st.Updated})
		if err != nil {
			continue
		}
		d.Steps[addr] = raw
	}
	if d.Runs == nil {
		d.Runs = map[string]RunHead{}
	}
	h := d.Runs[run.ID]
	h.Settled, h.Status = true, string(run.Status)
	d.Runs[run.ID] = h
}

// LoadHistory returns every step's history from the backend at a cost that
// does not grow with the number of settled runs: the state document (one
// read) holds their successes; only the runs it has not settled and the
// latest run (which may have left steps in flight) are replayed.
func LoadHistory(ctx context.Context, b Backend) (Histories, error) {
	doc, _, err := ReadDocument(ctx, b)
	if err != nil {
		return nil, err
	}
	runs, err := b.Runs(ctx)
	if err != nil {
		return nil, err
	}
	slices.Sort(runs)
	var replay []journal.RunSummary
	data := map[string][]byte{}
	for i, run := range runs {
		if doc.Runs[run].Settled && i != len(runs)-1 {
			continue
		}
		name := b.String() + " run " + run
		d, err := b.ReadJournal(ctx, run)
		if err != nil {
			continue // a journal that cannot be read proves nothing
		}
		data[name] = d
		replay = append(replay, journal.Summarise(run, name, d))
	}
	h := BuildHistory(replay, func(name string) (*journal.Run, error) {
		id := ""
		for _, r := range replay {
			if r.Path == name {
				id = r.ID
			}
		}
		return journal.Replay(id, name, data[name])
	})
	for addr, raw := range doc.Steps {
		a, err := addrs.ParseStep(addr)
		if err != nil {
			continue
		}
		var e stepEntry
		if json.Unmarshal(raw, &e) != nil {
			continue
		}
		cur := h[a]
		if cur == nil {
			cur = &History{}
			h[a] = cur
		}
		if cur.LastSuccess == nil || e.At.After(cur.LastSuccessAt) {
			cur.LastSuccess, cur.LastSuccessAt = e.Result, e.At
		}
	}
	return h, nil
}
