package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/runbook-dev/runbook/internal/atomicfile"
)

// stateDir is the .runbook directory beside a runbook: its key, journals,
// locks, consumed-plan markers and the simulated stamp's state. Everything
// in it is private to the operator (0700 directories, 0600 files). Its
// key, journals, locks and consumed plans are read and written through
// state/local (local.New(s.root)); the simulated stamp's files are this
// package's own.
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

func (s stateDir) runs() string { return s.path("runs") }
func (s stateDir) sim() string  { return s.path("sim") }

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
