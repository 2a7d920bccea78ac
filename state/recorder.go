package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/runbook-dev/runbook/executor/journal"
)

// Recorder keeps the state document in step with the journal of a running
// apply: it registers the run before its journal is written, adds each
// step's success to the document's Steps once the journal has it on
// stable storage (Journal.OnDurable), and at the end records the run's
// status and head and marks it settled. Plans then read every success in
// one request, however many runs came before, and a run killed midway
// leaves at most its last successes to be replayed from its journal.
//
// Successes that become durable while a write is in flight are written
// together by the next one, so a fast apply costs far fewer document
// writes than steps. The journal remains the record: a write that fails
// is retried with the next success, and if the document cannot be brought
// up to date the run stays unsettled and plans replay its journal.
type Recorder struct {
	b   Backend
	run string
	ctx context.Context

	mu      sync.Mutex
	pending map[string]StepEntry
	head    RunHead // the durable head not yet written
	dirty   bool
	wake    chan struct{}
	exited  chan struct{}
	closed  bool
	doc     *Document // as last written or read
	etag    string
	writes  int
}

// StartRecorder registers run in the document (h: when and by whom it
// started, its plan; a resumed run's status is cleared), so that plans and
// applies find it without listing journals, and starts recording. Call it
// before the run's journal is created; ctx bounds every document write,
// until Finish.
func StartRecorder(ctx context.Context, b Backend, run string, h RunHead) (*Recorder, error) {
	r := &Recorder{b: b, run: run, ctx: ctx, pending: map[string]StepEntry{},
		wake: make(chan struct{}, 1), exited: make(chan struct{})}
	doc, etag, err := update(ctx, b, func(d *Document) error {
		_, resumed := d.Runs[run]
		d.SetHead(run, h)
		if resumed { // open again: neither ended nor settled
			cur := d.Runs[run]
			cur.Status, cur.Settled = "", false
			d.Runs[run] = cur
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("register run %s in %s: %w", run, b, err)
	}
	r.doc, r.etag = doc, etag
	go r.loop()
	return r, nil
}

// Durable is the journal's OnDurable function: it takes note of the
// successes among recs and of the head, and wakes the writer.
func (r *Recorder) Durable(recs []journal.Record, seq uint64, hash string) {
	r.mu.Lock()
	for _, rec := range recs {
		if rec.Type == journal.StepResult && rec.Status == journal.Succeeded && rec.Step != "" {
			r.pending[rec.Step] = StepEntry{Result: recordResult(rec), At: rec.Time}
		}
	}
	if seq >= r.head.Records {
		r.head.Records, r.head.Hash = seq, hash
	}
	r.dirty = true
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// recordResult is a success record's result, as history keeps it.
func recordResult(rec journal.Record) map[string]string {
	return result(&journal.Step{Result: rec.Result, Fingerprint: rec.Fingerprint})
}

// loop writes what Durable noted, one write at a time.
func (r *Recorder) loop() {
	defer close(r.exited)
	for range r.wake {
		r.flush(nil)
		r.mu.Lock()
		closed := r.closed
		r.mu.Unlock()
		if closed {
			return
		}
	}
}

// flush writes the pending successes and head, and end's changes if end
// is set. A failed write leaves them pending.
func (r *Recorder) flush(end func(*Document)) error {
	r.mu.Lock()
	if !r.dirty && end == nil {
		r.mu.Unlock()
		return nil
	}
	steps, head := r.pending, r.head
	r.pending, r.dirty = map[string]StepEntry{}, false
	r.mu.Unlock()
	change := func(d *Document) {
		for addr, e := range steps {
			d.addSuccess(addr, e)
		}
		if head.Records > 0 {
			d.SetHead(r.run, RunHead{Records: head.Records, Hash: head.Hash})
		}
		if end != nil {
			end(d)
		}
	}
	err := r.write(change)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err == nil {
		r.writes++
	} else {
		// Keep what was not written for the next try, unless a later
		// success of the same step came in meanwhile.
		for addr, e := range steps {
			if _, ok := r.pending[addr]; !ok {
				r.pending[addr] = e
			}
		}
		r.dirty = true
	}
	return err
}

// write applies change to the document as last written and writes it
// with If-Match; when another writer changed it in between, it reads it
// again and applies change anew (it only adds or raises entries).
func (r *Recorder) write(change func(*Document)) error {
	for range maxUpdateTries {
		if r.doc == nil {
			d, etag, err := ReadDocument(r.ctx, r.b)
			if err != nil {
				return err
			}
			r.doc, r.etag = d, etag
		}
		change(r.doc)
		r.doc.Version = DocumentVersion
		data, err := json.Marshal(r.doc)
		if err != nil {
			return err
		}
		etag, err := r.b.WriteDocument(r.ctx, data, r.etag)
		if errors.Is(err, ErrStale) {
			r.doc = nil
			continue
		}
		if err != nil {
			r.doc = nil // its state in the store is unknown
			return err
		}
		r.etag = etag
		return nil
	}
	r.doc = nil
	return fmt.Errorf("%s: the state document kept changing while it was updated (%d tries)", r.b, maxUpdateTries)
}

// Finish writes what is pending, records that the run ended with status
// (its head final) and marks it settled: every success of its journal is
// then in Steps. A run that may be resumed (stopped) is not marked ended,
// so the next apply resumes it and plans still see the steps it left in
// flight. It returns an error when the document could not be brought up
// to date; the run then stays unsettled and is replayed from its journal.
func (r *Recorder) Finish(status journal.RunStatus, seq uint64, hash string) error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
	<-r.exited
	r.mu.Lock()
	if seq >= r.head.Records {
		r.head.Records, r.head.Hash = seq, hash
	}
	r.mu.Unlock()
	err := r.flush(func(d *Document) {
		d.SetHead(r.run, RunHead{Status: string(status), Settled: true})
	})
	if err != nil {
		return fmt.Errorf("record run %s in the state document of %s: %w", r.run, r.b, err)
	}
	return nil
}

// Writes returns how many times the recorder wrote the document.
func (r *Recorder) Writes() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.writes
}
