package state

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/runbook-dev/runbook/executor/journal"
)

// Document is the state document: what plan reads in one request instead
// of replaying every journal, so that its cost does not grow with the
// number of past runs. It is written only through Update, with optimistic
// concurrency (the backend's ETag), so two writers never lose each
// other's changes.
type Document struct {
	// Version is the document format, DocumentVersion.
	Version int `json:"version"`
	// Runs holds, per run id, the head of its journal as last recorded
	// (record count and hash of the last record), so that a journal cut
	// short or rewritten is detected (VerifyJournal).
	Runs map[string]RunHead `json:"runs,omitempty"`
	// Steps holds, per step address, what its last successful apply
	// recorded: the history entry, in the format of the history code.
	// An apply adds each success as it becomes durable in the journal
	// (Recorder), so a plan reads them here.
	Steps map[string]StepEntry `json:"steps,omitempty"`
	// Indexed says that Runs names every run the backend holds: an apply
	// registers its run here before it creates the journal, so history and
	// the run to resume are found without listing the journals. A store
	// written before runs were registered is indexed by the first apply
	// (Index); until then LoadHistory lists its journals.
	Indexed bool `json:"indexed,omitempty"`
}

// DocumentVersion is the format written.
const DocumentVersion = 1

// RunHead is what the document keeps of one run.
type RunHead struct {
	Records uint64    `json:"records"`
	Hash    string    `json:"hash"`
	Status  string    `json:"status,omitempty"`
	Started time.Time `json:"started,omitzero"`
	User    string    `json:"user,omitempty"`
	Host    string    `json:"host,omitempty"`
	PlanID  string    `json:"plan_id,omitempty"`
	// Kind is what the run was: "" for an apply, KindForceUnlock for the
	// journal of a force-unlock, which has no steps and is never resumed.
	Kind string `json:"kind,omitempty"`
	// Settled says that the run ended (or was superseded by a later run)
	// and every success its journal holds is in the document's Steps, so
	// history need not replay its journal.
	Settled bool `json:"settled,omitempty"`
}

// KindForceUnlock is the Kind of a force-unlock's journal.
const KindForceUnlock = "force-unlock"

// Ended reports whether the head's run ended with a result: succeeded or
// failed. A stopped run or one that never ended may be resumed.
func (h RunHead) Ended() bool {
	return h.Status == string(journal.RunSucceeded) || h.Status == string(journal.RunFailed)
}

// maxUpdateTries bounds Update's retries when other writers keep winning.
const maxUpdateTries = 20

// ReadDocument reads and decodes the state document; a store that has
// none yet has an empty one (etag "").
func ReadDocument(ctx context.Context, b Backend) (*Document, string, error) {
	data, etag, err := b.ReadDocument(ctx)
	if errors.Is(err, ErrNotFound) {
		return &Document{Version: DocumentVersion}, "", nil
	}
	if err != nil {
		return nil, "", err
	}
	var d Document
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, "", fmt.Errorf("%s: the state document is not valid: %v", b, err)
	}
	if d.Version > DocumentVersion {
		return nil, "", fmt.Errorf("%s: the state document has format %d; this runbook reads up to %d: upgrade runbook", b, d.Version, DocumentVersion)
	}
	return &d, etag, nil
}

// Update applies change to the current document and writes it back if no
// one wrote it in between; otherwise it reads the new document and applies
// change again (so change must only add or replace its own entries), up to
// a bound. It returns the document written.
func Update(ctx context.Context, b Backend, change func(*Document) error) (*Document, error) {
	d, _, err := update(ctx, b, change)
	return d, err
}

// update is Update that also returns the new ETag.
func update(ctx context.Context, b Backend, change func(*Document) error) (*Document, string, error) {
	for range maxUpdateTries {
		d, etag, err := ReadDocument(ctx, b)
		if err != nil {
			return nil, "", err
		}
		if err := change(d); err != nil {
			return nil, "", err
		}
		d.Version = DocumentVersion
		data, err := json.Marshal(d)
		if err != nil {
			return nil, "", err
		}
		etag, err = b.WriteDocument(ctx, data, etag)
		if errors.Is(err, ErrStale) {
			continue
		}
		if err != nil {
			return nil, "", err
		}
		return d, etag, nil
	}
	return nil, "", fmt.Errorf("%s: the state document kept changing while it was updated (%d tries)", b, maxUpdateTries)
}

// SetHead records a journal's head in the document (see RunHead): the
// record count and hash unless a later head was recorded already, and
// every other field h sets; the fields h leaves empty keep their values.
func (d *Document) SetHead(run string, h RunHead) {
	if d.Runs == nil {
		d.Runs = map[string]RunHead{}
	}
	cur, ok := d.Runs[run]
	if !ok {
		d.Runs[run] = h
		return
	}
	if h.Records >= cur.Records && h.Hash != "" {
		cur.Records, cur.Hash = h.Records, h.Hash
	}
	if h.Status != "" {
		cur.Status = h.Status
	}
	if !h.Started.IsZero() {
		cur.Started = h.Started
	}
	cur.User = cmp.Or(h.User, cur.User)
	cur.Host = cmp.Or(h.Host, cur.Host)
	cur.PlanID = cmp.Or(h.PlanID, cur.PlanID)
	cur.Kind = cmp.Or(h.Kind, cur.Kind)
	cur.Settled = cur.Settled || h.Settled
	d.Runs[run] = cur
}

// Latest returns the apply run that started last (by its start time, then
// its id), the one an apply resumes if it did not end; ok is false when
// the document names none. A force-unlock's journal is not an apply.
func (d *Document) Latest() (run string, h RunHead, ok bool) {
	for id, cur := range d.Runs {
		if cur.Kind != "" {
			continue
		}
		if !ok || cur.Started.After(h.Started) || cur.Started.Equal(h.Started) && id > run {
			run, h, ok = id, cur, true
		}
	}
	return run, h, ok
}

// VerifyJournal reads a run's journal, verifies its chain and checks it
// against the head the document recorded: a journal that was cut short or
// rewritten is refused, naming the run and the record.
func VerifyJournal(ctx context.Context, b Backend, d *Document, run string) ([]byte, []journal.Record, error) {
	data, err := b.ReadJournal(ctx, run)
	if err != nil {
		return nil, nil, err
	}
	name := b.String() + " run " + run
	recs, err := journal.Parse(data)
	if err != nil {
		return data, recs, fmt.Errorf("%s: %w", name, err)
	}
	if h, ok := d.Runs[run]; ok {
		if err := journal.CheckHead(name, data, h.Records, h.Hash); err != nil {
			return data, recs, err
		}
	}
	return data, recs, nil
}
