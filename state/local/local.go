// Package local is the default state backend: the .runbook directory beside
// a runbook. Journals are JSON-lines files fsynced on every durable append
// (executor/journal), locks are flock(2)/LockFileEx locks (executor/lock)
// that the operating system drops when the holder dies, the state document
// is a file replaced atomically under a short lock, consumed plans are
// marker files created exclusively, and the key is a random 32-byte file
// made on first use that never leaves the directory (key.go).
//
// Everything in it is private to the operator: directories 0700, files
// 0600 (an owner-only DACL on Windows); a state directory others could
// write is refused before its key is used.
package local

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gofrs/flock"
	"github.com/runbook-dev/runbook/clock"
	"github.com/runbook-dev/runbook/executor/journal"
	"github.com/runbook-dev/runbook/executor/lock"
	"github.com/runbook-dev/runbook/internal/atomicfile"
	"github.com/runbook-dev/runbook/internal/boundedread"
	"github.com/runbook-dev/runbook/state"
)

// Backend is the .runbook directory Root.
type Backend struct {
	Root string
}

var _ state.Backend = (*Backend)(nil)

// New returns the backend in the directory root (usually DIR/.runbook).
func New(root string) *Backend { return &Backend{Root: root} }

// String implements state.Backend.
func (b *Backend) String() string { return "local " + b.Root }

func (b *Backend) path(elem ...string) string {
	return filepath.Join(append([]string{b.Root}, elem...)...)
}

// RunsDir is the directory of the journals, LocksDir of the lock files.
func (b *Backend) RunsDir() string  { return b.path("runs") }
func (b *Backend) LocksDir() string { return b.path("locks") }

// CreateJournal implements state.Backend.
func (b *Backend) CreateJournal(ctx context.Context, run string, clk clock.Clock) (*journal.Journal, error) {
	if _, err := os.Stat(b.journalPath(run)); err == nil {
		return nil, fmt.Errorf("journal of run %s: %w", run, state.ErrExist)
	}
	return journal.Create(b.RunsDir(), run, clk)
}

// OpenJournal implements state.Backend. A torn last line, left by a crash
// in the middle of a write, is cut off and the repair noted in the journal.
func (b *Backend) OpenJournal(ctx context.Context, run string, clk clock.Clock) (*journal.Journal, error) {
	j, err := journal.Open(b.journalPath(run), clk)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("journal of run %s: %w", run, state.ErrNotFound)
	}
	return j, err
}

// ReadJournal implements state.Backend.
func (b *Backend) ReadJournal(ctx context.Context, run string) ([]byte, error) {
	data, err := boundedread.File(b.journalPath(run), boundedread.Journal)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("journal of run %s: %w", run, state.ErrNotFound)
	}
	return data, err
}

func (b *Backend) journalPath(run string) string {
	return filepath.Join(b.RunsDir(), filepath.Base(run)+".jsonl")
}

// Runs implements state.Backend.
func (b *Backend) Runs(ctx context.Context) ([]string, error) {
	entries, err := os.ReadDir(b.RunsDir())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var runs []string
	for _, e := range entries {
		if e.Type().IsRegular() && strings.HasSuffix(e.Name(), ".jsonl") {
			runs = append(runs, strings.TrimSuffix(e.Name(), ".jsonl"))
		}
	}
	slices.Sort(runs)
	return runs, nil
}

// ImportJournal implements state.Backend: it creates the journal file
// exclusively and writes data into it.
func (b *Backend) ImportJournal(ctx context.Context, run string, data []byte) error {
	if err := os.MkdirAll(b.RunsDir(), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(b.journalPath(run), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("journal of run %s: %w", run, state.ErrExist)
	}
	if err != nil {
		return err
	}
	if _, err = f.Write(data); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// documentName is the state document's file.
const documentName = "state.json"

// ReadDocument implements state.Backend. The ETag is the hex SHA-256 of
// the file's content.
func (b *Backend) ReadDocument(ctx context.Context) ([]byte, string, error) {
	data, err := boundedread.File(b.path(documentName), boundedread.Document)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "", fmt.Errorf("state document: %w", state.ErrNotFound)
	}
	if err != nil {
		return nil, "", err
	}
	return data, etag(data), nil
}

// WriteDocument implements state.Backend: under a lock on state.json.lock
// it compares the current file's hash with ifMatch, then writes a
// temporary file, fsyncs it and renames it into place.
func (b *Backend) WriteDocument(ctx context.Context, data []byte, ifMatch string) (string, error) {
	if err := os.MkdirAll(b.Root, 0o700); err != nil {
		return "", err
	}
	fl := flock.New(b.path(documentName+".lock"), flock.SetPermissions(0o600))
	if _, err := fl.TryLockContext(ctx, lockPoll); err != nil {
		return "", fmt.Errorf("state document: %w", err)
	}
	defer fl.Unlock()
	cur, err := boundedread.File(b.path(documentName), boundedread.Document)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if ifMatch != "" {
			return "", fmt.Errorf("state document: %w (it was removed)", state.ErrStale)
		}
	case err != nil:
		return "", err
	case etag(cur) != ifMatch:
		return "", fmt.Errorf("state document: %w", state.ErrStale)
	}
	if err := WritePrivate(b.path(documentName), data); err != nil {
		return "", fmt.Errorf("state document: %w", err)
	}
	return etag(data), nil
}

func etag(data []byte) string {
	sum := sha256.Sum256(data)
	return `"` + hex.EncodeToString(sum[:]) + `"`
}

// Lock implements state.Backend with executor/lock: a flock on a file in
// the locks directory, named by the hash of the lock's name.
func (b *Backend) Lock(ctx context.Context, name string, holder lock.Holder) (state.Lease, error) {
	l, err := lock.Acquire(b.LocksDir(), []string{name}, holder)
	if err != nil {
		return nil, err
	}
	return &lease{name: name, l: l, lost: make(chan struct{})}, nil
}

// BreakLock implements state.Backend. A flock cannot be taken from a live
// process: the holder is named and the lock stays; it is released when
// that process exits.
func (b *Backend) BreakLock(ctx context.Context, name string, holder lock.Holder) error {
	h, ok, err := b.Holder(ctx, name)
	if err != nil || !ok {
		return err
	}
	return fmt.Errorf("%s is held by pid %d on %s: a local lock is released only when that process exits; stop it instead", name, h.PID, h.Host)
}

// Holder implements state.Backend by trying the lock.
func (b *Backend) Holder(ctx context.Context, name string) (lock.Holder, bool, error) {
	l, err := lock.Acquire(b.LocksDir(), []string{name}, lock.Holder{})
	var held *lock.HeldError
	if errors.As(err, &held) {
		return lock.Holder{PID: held.PID, Host: held.Host, User: held.User, Started: held.Started, Run: held.Run}, true, nil
	}
	if err != nil {
		return lock.Holder{}, false, err
	}
	return lock.Holder{}, false, l.Release()
}

// lease is a held flock. It is never lost: the kernel keeps it until
// Release or the holder's death.
type lease struct {
	name string
	l    *lock.Lock
	lost chan struct{}
}

// SetRun implements state.Lease: it rewrites the holder record in the lock
// file.
func (l *lease) SetRun(ctx context.Context, run string) error { return l.l.SetRun(run) }

func (l *lease) Name() string                      { return l.name }
func (l *lease) Lost() <-chan struct{}             { return l.lost }
func (l *lease) Err() error                        { return nil }
func (l *lease) Release(ctx context.Context) error { return l.l.Release() }

// ConsumePlan implements state.Backend: it creates plans/ID.applied
// exclusively.
func (b *Backend) ConsumePlan(ctx context.Context, planID string) error {
	if err := os.MkdirAll(b.path("plans"), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(b.consumedPath(planID), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("plan %s: %w", planID, state.ErrConsumed)
	}
	if err != nil {
		return err
	}
	return f.Close()
}

// PlanConsumed implements state.Backend.
func (b *Backend) PlanConsumed(ctx context.Context, planID string) (bool, error) {
	_, err := os.Stat(b.consumedPath(planID))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

func (b *Backend) consumedPath(planID string) string {
	return b.path("plans", filepath.Base(planID)+".applied")
}

// WritePrivate writes a file with mode 0600 atomically: a temporary file
// beside it, fsynced, renamed over it.
func WritePrivate(path string, data []byte) error { return atomicfile.Write(path, data, 0o600) }
