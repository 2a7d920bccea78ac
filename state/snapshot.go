package state

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/runbook-dev/runbook/addrs"
	"github.com/runbook-dev/runbook/executor/journal"
)

// StepEntry is the state document's record of a step's last success
// (Document.Steps): the result its step type declared, and when.
type StepEntry struct {
	Result map[string]string `json:"result"`
	At     time.Time         `json:"at"`
}

// addSuccess records a step's success in Steps unless a later one is
// recorded already.
func (d *Document) addSuccess(addr string, e StepEntry) {
	if d.Steps == nil {
		d.Steps = map[string]StepEntry{}
	}
	if cur, ok := d.Steps[addr]; ok && !e.At.After(cur.At) {
		return
	}
	if e.Result == nil {
		e.Result = map[string]string{}
	}
	d.Steps[addr] = e
}

// Settle copies what a run's journal tells of its steps' successes into
// the document's Steps (a later success recorded already is kept) and
// marks the run settled in Runs, so that LoadHistory need not replay it.
// A run that may still be resumed (stopped, or never ended) is settled
// only when superseded is set: a later run started, so the steps it left
// in flight no longer count.
func (d *Document) Settle(run *journal.Run, superseded bool) {
	ended := run.Status == journal.RunSucceeded || run.Status == journal.RunFailed
	if !ended && !superseded {
		return
	}
	for addr, st := range run.Steps {
		if st.InFlight || st.Status != journal.Succeeded {
			continue
		}
		d.addSuccess(addr, StepEntry{Result: result(st), At: st.Updated})
	}
	h := RunHead{Settled: true}
	if ended {
		h.Status = string(run.Status)
	}
	d.SetHead(run.ID, h)
}

// LoadHistory returns every step's history from the backend at a cost that
// does not grow with the number of past runs: the state document (one
// read) holds the successes of settled runs; only the runs it has not
// settled (normally none, or the one an apply is running or left
// unfinished) and the latest run, which may have left steps in flight, are
// replayed. A store not yet indexed (written by an older runbook) has its
// journals listed instead, until an apply indexes it.
func LoadHistory(ctx context.Context, b Backend) (Histories, error) {
	doc, _, err := ReadDocument(ctx, b)
	if err != nil {
		return nil, err
	}
	var runs []string
	if doc.Indexed {
		latest, _, _ := doc.Latest()
		for id, h := range doc.Runs {
			if !h.Settled || id == latest && !h.Ended() {
				runs = append(runs, id)
			}
		}
	} else {
		all, err := b.Runs(ctx)
		if err != nil {
			return nil, err
		}
		for i, id := range all {
			if !doc.Runs[id].Settled || i == len(all)-1 {
				runs = append(runs, id)
			}
		}
	}
	slices.Sort(runs)
	var replay []journal.RunSummary
	data := map[string][]byte{}
	for _, run := range runs {
		name := b.String() + " run " + run
		d, err := b.ReadJournal(ctx, run)
		if err != nil {
			continue // none yet, or one that cannot be read: it proves nothing
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
	for addr, e := range doc.Steps {
		a, err := addrs.ParseStep(addr)
		if err != nil {
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

// Index prepares the document for an apply, which holds the runbook's
// lock: a store not yet indexed has every journal's head registered
// (reading each journal once, the last time), and runs that ended or were
// superseded by a later one but were never settled (an older runbook, a
// killed apply, a migrated journal) have their successes settled, so that
// no later plan replays them. It returns the document as written.
func Index(ctx context.Context, b Backend) (*Document, error) {
	doc, _, err := ReadDocument(ctx, b)
	if err != nil {
		return nil, err
	}
	var all []string
	if !doc.Indexed {
		if all, err = b.Runs(ctx); err != nil {
			return nil, err
		}
	}
	heads := map[string]RunHead{}
	for _, run := range all {
		if _, ok := doc.Runs[run]; ok {
			continue
		}
		data, err := b.ReadJournal(ctx, run)
		if err != nil {
			return nil, fmt.Errorf("index %s: %w", b, err)
		}
		if h, ok := headOf(data); ok {
			heads[run] = h
		}
	}
	latest := func(d *Document) string { id, _, _ := d.Latest(); return id }
	// What the superseded runs' journals say is read before the update,
	// which may have to be tried again.
	probe := &Document{Runs: withHeads(doc.Runs, heads)}
	last := latest(probe)
	settle := map[string]*journal.Run{}
	for id, h := range probe.Runs {
		if h.Settled || id == last && !h.Ended() {
			continue
		}
		name := b.String() + " run " + id
		data, err := b.ReadJournal(ctx, id)
		if errors.Is(err, ErrNotFound) {
			settle[id] = &journal.Run{ID: id} // registered, never created
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("index %s: %w", b, err)
		}
		if run, err := journal.Replay(id, name, data); err == nil {
			settle[id] = run
		}
	}
	if doc.Indexed && len(settle) == 0 {
		return doc, nil
	}
	return Update(ctx, b, func(d *Document) error {
		for run, h := range heads {
			d.SetHead(run, h)
		}
		last := latest(d)
		for id, run := range settle {
			d.Settle(run, id != last)
		}
		d.Indexed = true
		return nil
	})
}

// withHeads returns a copy of a with b's entries added.
func withHeads(a, b map[string]RunHead) map[string]RunHead {
	out := make(map[string]RunHead, len(a)+len(b))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// headOf is the head a journal's data shows: record count, last hash, who
// started the run and when, and how it ended. ok is false for a journal
// with no record.
func headOf(data []byte) (RunHead, bool) {
	recs, _ := journal.Parse(data)
	if len(recs) == 0 {
		return RunHead{}, false
	}
	_, hash, _ := journal.HeadOf(data)
	h := RunHead{Records: recs[len(recs)-1].Seq, Hash: hash, Started: recs[0].Time, User: recs[0].User, Host: recs[0].Host, PlanID: recs[0].PlanID}
	for _, r := range recs {
		if r.Type == journal.RunEnded {
			h.Status = string(r.Status)
			if r.Reason == KindForceUnlock {
				h.Kind, h.Settled = KindForceUnlock, true
			}
		} else if r.Type == journal.RunResumed {
			h.Status = ""
		}
	}
	return h, true
}
