package main

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/runbook-dev/runbook/internal/atomicfile"
	"github.com/runbook-dev/runbook/internal/boundedread"
)

// stateDir is the .runbook directory beside a runbook: its key, journals,
// locks, consumed-plan markers and the simulated stamp's state. Everything
// in it is private to the operator (0700 directories, 0600 files).
type stateDir struct {
	root string
}

// stateFor returns the state directory of the runbook at target (a
// directory or a file).
func stateFor(target string) stateDir {
	if target == "" {
		target = "."
	}
	if info, err := os.Stat(target); err == nil && !info.IsDir() {
		target = filepath.Dir(target)
	}
	return stateDir{root: filepath.Join(target, ".runbook")}
}

func (s stateDir) path(elem ...string) string {
	return filepath.Join(append([]string{s.root}, elem...)...)
}

func (s stateDir) runs() string  { return s.path("runs") }
func (s stateDir) locks() string { return s.path("locks") }
func (s stateDir) sim() string   { return s.path("sim") }

// keySize is the length of the runbook key in bytes.
const keySize = 32

// key returns the runbook's secret key, creating it on first use. It keys
// the HMAC fingerprints of sensitive values and the MACs of saved plans; it
// never leaves this directory.
//
// The key is written whole to a temporary file, synced, and then linked to
// its name, which fails if the name exists: a crash leaves either no key or
// a complete one, and of two processes creating it at once both end up with
// the one that was linked first (a rename would let the second replace the
// key the first already used).
func (s stateDir) key() ([]byte, error) {
	p := s.path("key")
	if err := checkPrivate(s.root, p, s.runs(), s.locks()); err != nil {
		return nil, err
	}
	b, err := readKey(p)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return b, err
	}
	if err := os.MkdirAll(s.root, 0o700); err != nil {
		return nil, err
	}
	if err := restrictToOwner(s.root); err != nil {
		return nil, fmt.Errorf("make %s private: %w", s.root, err)
	}
	b = make([]byte, keySize)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	tmp, err := atomicfile.WriteTemp(p, b, 0o600)
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
	atomicfile.SyncDir(s.root)
	return b, nil
}

// readKey reads the key at p; a key of the wrong size is an error that says
// what to do, never a reason to make a new key silently (plans and
// fingerprints made with the old one would no longer match).
func readKey(p string) ([]byte, error) {
	b, err := boundedread.File(p, keySize+1)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("read the runbook key: %w", err)
	}
	if len(b) != keySize {
		return nil, fmt.Errorf("the runbook key %s is malformed (%d bytes, want %d): an interrupted write or an edit damaged it. "+
			"Restore it from a backup, or delete it to have a new key made on the next run "+
			"(saved plans made with the old key must then be made again)", p, len(b), keySize)
	}
	return b, nil
}

// consumed reports whether the plan with this id was applied already.
func (s stateDir) consumed(planID string) bool {
	_, err := os.Stat(s.path("plans", planID+".applied"))
	return err == nil
}

// consume marks a plan as applied, failing if it was already.
func (s stateDir) consume(planID string) error {
	if err := os.MkdirAll(s.path("plans"), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(s.path("plans", planID+".applied"), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("plan %s was applied already; a plan is applied once: make a new one", planID)
	}
	if err != nil {
		return err
	}
	return f.Close()
}

// writePrivate writes a file with mode 0600, atomically: a temporary file
// beside it is written, synced and renamed over it.
//
// Only a regular file is replaced: a device, FIFO, socket or directory
// there is refused, and so is a symbolic link, which is neither followed
// (that would write wherever it leads) nor silently replaced by a file.
func writePrivate(path string, data []byte) error {
	if err := replaceable(path); err != nil {
		return err
	}
	return atomicfile.Write(path, data, 0o600)
}

// replaceable reports an error if something other than a regular file is
// at path.
func replaceable(path string) error {
	info, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	m := info.Mode()
	if m.IsRegular() {
		return nil
	}
	what := "not a regular file"
	switch {
	case m&fs.ModeSymlink != 0:
		what = "a symbolic link"
	case m.IsDir():
		what = "a directory"
	case m&fs.ModeNamedPipe != 0:
		what = "a FIFO"
	case m&fs.ModeSocket != 0:
		what = "a socket"
	case m&fs.ModeDevice != 0:
		what = "a device"
	}
	return fmt.Errorf("refusing to replace %s: it is %s, not a regular file; choose another path", path, what)
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
