// Package atomicfile writes files so that a reader, or the next process
// after a crash, sees either the old content or the new, never a torn mix:
// the data goes to a temporary file beside the target, is synced, and is
// then renamed (or linked) into place.
package atomicfile

import (
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// Write writes data to path atomically with mode perm, replacing any file
// there. The directory must exist.
func Write(path string, data []byte, perm fs.FileMode) error {
	tmp, err := WriteTemp(path, data, perm)
	if err != nil {
		return err
	}
	defer os.Remove(tmp) // no-op after the rename
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	SyncDir(filepath.Dir(path))
	return nil
}

// WriteTemp writes data to a new file beside path with mode perm (mode bits
// are not set on Windows), synced to disk, and returns its name. The
// caller puts it in place (os.Rename, or os.Link to refuse an existing
// file) and removes the name in any case.
func WriteTemp(path string, data []byte, perm fs.FileMode) (string, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return "", err
	}
	if runtime.GOOS != "windows" {
		err = tmp.Chmod(perm)
	}
	if err == nil {
		_, err = tmp.Write(data)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp.Name())
		return "", err
	}
	return tmp.Name(), nil
}

// SyncDir makes a rename or link in dir durable, where the system allows
// it (not on Windows); a failure only weakens durability, so it is ignored.
func SyncDir(dir string) {
	if runtime.GOOS == "windows" {
		return
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
