package lock

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gofrs/flock"
)

// Holder describes the process holding a lock. It is written into the lock
// file so that a refused process can say who holds it.
type Holder struct {
	PID     int       `json:"pid"`
	Host    string    `json:"host"`
	User    string    `json:"user"`
	Started time.Time `json:"started"`
	// Run is the run id of the apply, if any.
	Run string `json:"run,omitempty"`
}

// HeldError is returned by Acquire when a target is locked by someone else.
// The holder fields are zero if the holder's record could not be read (it
// is written just after the lock is taken, so a race can miss it).
type HeldError struct {
	Target  string
	PID     int
	Host    string
	User    string
	Started time.Time
	Run     string
	// Path is the lock file.
	Path string
}

func (e *HeldError) Error() string {
	if e.PID == 0 {
		return fmt.Sprintf("%s is locked by another apply (lock file %s); wait for it to finish", e.Target, e.Path)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s is locked by pid %d on %s", e.Target, e.PID, e.Host)
	if e.User != "" {
		fmt.Fprintf(&b, " (user %s)", e.User)
	}
	if !e.Started.IsZero() {
		fmt.Fprintf(&b, " since %s", e.Started.UTC().Format(time.RFC3339))
	}
	if e.Run != "" {
		fmt.Fprintf(&b, ", run %s", e.Run)
	}
	b.WriteString("; wait for that apply to finish (the lock is released when its process exits)")
	return b.String()
}

// Target returns the lock target for an endpoint of the given kind ("hub",
// "pep"): the kind and the endpoint, lower-cased and without a trailing
// slash, so that spellings of the same endpoint lock the same file.
func Target(kind, endpoint string) string {
	return kind + ":" + strings.TrimRight(strings.ToLower(strings.TrimSpace(endpoint)), "/")
}

// Lock is a set of targets held together. Release it when the apply ends.
type Lock struct {
	targets []string
	files   []*flock.Flock
	holder  Holder
}

// Acquire locks every target in dir (created with mode 0700 if needed),
// without waiting: either all targets are locked, or none is and the error
// says why, a *HeldError when one is held by another process or another
// Lock in this process. Targets are locked in sorted order and duplicates
// are ignored.
func Acquire(dir string, targets []string, info Holder) (*Lock, error) {
	if len(targets) == 0 {
		return nil, errors.New("lock: no targets")
	}
	ts := slices.Clone(targets)
	slices.Sort(ts)
	ts = slices.Compact(ts)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	l := &Lock{holder: info}
	for _, t := range ts {
		if err := l.take(dir, t, info); err != nil {
			l.Release()
			return nil, err
		}
	}
	return l, nil
}

func (l *Lock) take(dir, target string, info Holder) error {
	path := filepath.Join(dir, fileName(target))
	f := flock.New(path, flock.SetPermissions(0o600))
	ok, err := f.TryLock()
	if err != nil {
		return fmt.Errorf("lock %s: %w", target, err)
	}
	if !ok {
		return held(path, target)
	}
	l.targets = append(l.targets, target)
	l.files = append(l.files, f)
	if err := writeHolder(path, target, info); err != nil {
		return fmt.Errorf("lock %s: recording the holder: %w", target, err)
	}
	return nil
}

// SetRun rewrites the holder record of every target with run as the
// holder's run: an apply that learns under the lock that it resumes an
// earlier run names that run from then on.
func (l *Lock) SetRun(run string) error {
	if len(l.files) == 0 {
		return errors.New("lock: not held")
	}
	h := l.holder
	h.Run = run
	for i, f := range l.files {
		if err := writeHolder(f.Path(), l.targets[i], h); err != nil {
			return fmt.Errorf("lock %s: recording the holder: %w", l.targets[i], err)
		}
	}
	l.holder = h
	return nil
}

// Targets returns the locked targets, sorted.
func (l *Lock) Targets() []string { return slices.Clone(l.targets) }

// Release clears the holder records and unlocks every target. It is safe
// to call more than once.
func (l *Lock) Release() error {
	var errs []error
	for i := len(l.files) - 1; i >= 0; i-- {
		f := l.files[i]
		clearHolder(f.Path())
		if err := f.Unlock(); err != nil {
			errs = append(errs, fmt.Errorf("unlock %s: %w", l.targets[i], err))
		}
	}
	l.files, l.targets = nil, nil
	return errors.Join(errs...)
}

// fileName is the lock file of a target: a hash, so any target string
// makes a safe file name.
func fileName(target string) string {
	sum := sha256.Sum256([]byte(target))
	return hex.EncodeToString(sum[:16]) + ".lock"
}

// The holder record starts at byte 1 of the lock file. gofrs/flock's
// Windows implementation locks byte 0 with LockFileEx, a mandatory lock
// that stops other processes from reading that byte; the rest of the file
// stays readable, so a refused process can read the record. On Unix the
// lock is advisory and the offset costs nothing.
const recordOffset = 1

// maxRecord bounds how much of a lock file is read.
const maxRecord = 4096

type record struct {
	Target string `json:"target"`
	Holder
}

func writeHolder(path, target string, info Holder) error {
	data, err := json.Marshal(record{Target: target, Holder: info})
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if err := f.Truncate(recordOffset); err != nil {
		f.Close()
		return err
	}
	if _, err := f.WriteAt(append(data, '\n'), recordOffset); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func clearHolder(path string) {
	if f, err := os.OpenFile(path, os.O_WRONLY, 0); err == nil {
		f.Truncate(recordOffset) // best effort: a stale record is only shown if locked again
		f.Close()
	}
}

// held builds the HeldError for a target locked by someone else.
func held(path, target string) *HeldError {
	e := &HeldError{Target: target, Path: path}
	f, err := os.Open(path)
	if err != nil {
		return e
	}
	defer f.Close()
	buf := make([]byte, maxRecord)
	n, err := f.ReadAt(buf, recordOffset)
	if err != nil && !errors.Is(err, io.EOF) {
		return e
	}
	var r record
	if json.Unmarshal(buf[:n], &r) != nil || r.Target != target {
		return e
	}
	e.PID, e.Host, e.User, e.Started, e.Run = r.PID, r.Host, r.User, r.Started, r.Run
	return e
}
