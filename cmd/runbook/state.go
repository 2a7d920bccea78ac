package main

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
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

// key returns the runbook's secret key, creating it on first use. It keys
// the HMAC fingerprints of sensitive values and the MACs of saved plans; it
// never leaves this directory.
func (s stateDir) key() ([]byte, error) {
	p := s.path("key")
	b, err := os.ReadFile(p)
	if err == nil && len(b) == 32 {
		return b, nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read the runbook key: %w", err)
	}
	if err := os.MkdirAll(s.root, 0o700); err != nil {
		return nil, err
	}
	b = make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return s.key() // another process made it first
	}
	if err != nil {
		return nil, fmt.Errorf("create the runbook key: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, err
	}
	return b, f.Close()
}

// derive returns a key for one purpose, so that no two uses share a key.
func derive(key []byte, purpose string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(purpose))
	return m.Sum(nil)
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

// writePrivate writes a file with mode 0600, atomically.
func writePrivate(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil && !isWindows() {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
