package certs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/gofrs/flock"
	"github.com/runbook-dev/runbook/clock"
	"github.com/runbook-dev/runbook/internal/atomicfile"
)

// File names LoadOrCreateCA keeps under its directory.
const (
	// CACertFile holds the root certificate (PEM), mode 0644: hand it to
	// clients as their CA bundle.
	CACertFile = "root-ca.pem"
	// CAKeyFile holds the root key (PKCS#8 PEM), mode 0600.
	CAKeyFile = "root-ca-key.pem"
	// caLockFile serialises concurrent creators of the same directory.
	caLockFile = ".root-ca.lock"
)

// CAValidity is how long a CA made by LoadOrCreateCA is valid.
const CAValidity = 10 * 365 * 24 * time.Hour

// CANotBefore returns the start of validity LoadOrCreateCA gives a root made
// at now: 1 January 2000, or an hour before now if that is earlier. A root
// must be valid both on the stamp's virtual clock (the simulator checks
// uploaded chains against it) and on the wall clock (TLS clients verify the
// simulator's server certificate against real time), and a test's fake clock
// may start anywhere, so the root starts long before either.
func CANotBefore(now time.Time) time.Time {
	early := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	if h := now.Add(-time.Hour); h.Before(early) {
		return h
	}
	return early
}

// LoadOrCreateCA returns the CA kept in dir, creating dir and the CA (named
// DefaultCAName, valid from CANotBefore(c.Now()) for CAValidity) when
// neither file exists yet. It fails if only one of the two files exists, so
// a half-deleted CA is never silently replaced. Concurrent callers, even in
// different processes, agree on one CA: creation holds a file lock in dir.
func LoadOrCreateCA(dir string, c clock.Clock) (*CA, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("certs: CA directory: %w", err)
	}
	lock := flock.New(filepath.Join(dir, caLockFile))
	if err := lock.Lock(); err != nil {
		return nil, fmt.Errorf("certs: lock CA directory %s: %w", dir, err)
	}
	defer lock.Unlock()

	certPath, keyPath := filepath.Join(dir, CACertFile), filepath.Join(dir, CAKeyFile)
	certPEM, certErr := os.ReadFile(certPath)
	keyPEM, keyErr := os.ReadFile(keyPath)
	switch {
	case certErr == nil && keyErr == nil:
		ca, err := ParseCA(certPEM, keyPEM)
		if err != nil {
			return nil, fmt.Errorf("certs: CA in %s: %w", dir, err)
		}
		return ca, nil
	case errors.Is(certErr, fs.ErrNotExist) && errors.Is(keyErr, fs.ErrNotExist):
		// Create below.
	case certErr != nil && !errors.Is(certErr, fs.ErrNotExist):
		return nil, fmt.Errorf("certs: read CA: %w", certErr)
	case keyErr != nil && !errors.Is(keyErr, fs.ErrNotExist):
		return nil, fmt.Errorf("certs: read CA key: %w", keyErr)
	default:
		return nil, fmt.Errorf("certs: CA in %s is incomplete: need both %s and %s", dir, CACertFile, CAKeyFile)
	}

	now := c.Now()
	ca, err := NewCA(DefaultCAName, CANotBefore(now), now.Add(CAValidity))
	if err != nil {
		return nil, err
	}
	keyPEM, err = ca.KeyPEM()
	if err != nil {
		return nil, err
	}
	if err := writeFileAtomic(keyPath, keyPEM, 0o600); err != nil {
		return nil, err
	}
	if err := writeFileAtomic(certPath, ca.CertPEM(), 0o644); err != nil {
		return nil, err
	}
	return ca, nil
}

// writeFileAtomic writes data to a temporary file beside path and renames it
// into place, so readers never see a partial file.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	if err := atomicfile.Write(path, data, perm); err != nil {
		return fmt.Errorf("certs: write %s: %w", path, err)
	}
	return nil
}
