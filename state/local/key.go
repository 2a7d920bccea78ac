package local

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/runbook-dev/runbook/internal/atomicfile"
	"github.com/runbook-dev/runbook/internal/boundedread"
	"github.com/runbook-dev/runbook/state"
)

// KeySize is the length of the runbook key in bytes.
const KeySize = 32

// KeyPath is the file of the runbook key.
func (b *Backend) KeyPath() string { return b.path("key") }

// Key implements state.Backend: the file key, 32 random bytes made on
// first use. It keys the HMAC fingerprints of sensitive values and the MACs
// of saved plans, and never leaves the directory.
//
// A state directory, key or runs or locks directory that someone else
// could write is refused (see checkPrivate). The key is written whole to a
// temporary file, synced, and then linked to its name, which fails if the
// name exists: a crash leaves either no key or a complete one, and of two
// processes creating it at once both end up with the one that was linked
// first (a rename would let the second replace the key the first already
// used). A key of the wrong size is an error that says what to do.
func (b *Backend) Key(ctx context.Context) ([]byte, error) {
	k, err := b.ReadKey(ctx)
	if !errors.Is(err, state.ErrNotFound) {
		return k, err
	}
	if err := os.MkdirAll(b.Root, 0o700); err != nil {
		return nil, err
	}
	if err := restrictToOwner(b.Root); err != nil {
		return nil, fmt.Errorf("make %s private: %w", b.Root, err)
	}
	k = make([]byte, KeySize)
	if _, err := rand.Read(k); err != nil {
		return nil, err
	}
	p := b.KeyPath()
	tmp, err := atomicfile.WriteTemp(p, k, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create the runbook key: %w", err)
	}
	defer os.Remove(tmp)
	if err := restrictToOwner(tmp); err != nil {
		return nil, fmt.Errorf("make the runbook key private: %w", err)
	}
	if err := os.Link(tmp, p); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return readKey(p) // another process made it first
		}
		return nil, fmt.Errorf("create the runbook key: %w", err)
	}
	atomicfile.SyncDir(b.Root)
	return k, nil
}

// ReadKey returns the key if it was made already, and an error wrapping
// state.ErrNotFound if not: what reads a saved plan uses, so that a plan
// shown or applied elsewhere is refused instead of meeting a new key. The
// same checks as Key's apply.
func (b *Backend) ReadKey(ctx context.Context) ([]byte, error) {
	p := b.KeyPath()
	if err := checkPrivate(b.Root, p, b.RunsDir(), b.LocksDir()); err != nil {
		return nil, err
	}
	k, err := readKey(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("the runbook key %s: %w", p, state.ErrNotFound)
	}
	return k, err
}

// readKey reads the key at p; a key of the wrong size is an error that says
// what to do, never a reason to make a new key silently (plans and
// fingerprints made with the old one would no longer match).
func readKey(p string) ([]byte, error) {
	k, err := boundedread.File(p, KeySize+1)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("read the runbook key: %w", err)
	}
	if len(k) != KeySize {
		return nil, fmt.Errorf("the runbook key %s is malformed (%d bytes, want %d): an interrupted write or an edit damaged it. "+
			"Restore it from a backup, or delete it to have a new key made on the next run "+
			"(saved plans made with the old key must then be made again)", p, len(k), KeySize)
	}
	return k, nil
}
