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
// there, and makes it durable. The directory must exist.
func Write(path string, data []byte, perm fs.FileMode) error {
	return write(path, data, perm, true)
}

// WriteUnsynced is Write without the syncs: a reader never sees a torn
// file, but a crash may lose the write. For state that can be lost, such
// as a simulator's, where a disk flush per change would only slow it.
func WriteUnsynced(path string, data []byte, perm fs.FileMode) error {
	return write(path, data, perm, false)
}

func write(path string, data []byte, perm fs.FileMode, sync bool) error {
	tmp, err := writeTemp(path, data, perm, sync)
	if err != nil {
		return err
	}
	defer os.Remove(tmp) // no-op after the rename
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	if sync {
		SyncDir(filepath.Dir(path))
	}
	return nil
}

// WriteTemp writes data to a new file beside path with mode perm (mode bits
// are not set on Windows), synced to disk, and returns its name. The
// caller puts it in place (os.Rename, or os.Link to refuse an existing
// file) and removes the name in any case.
func WriteTemp(path string, data []byte, perm fs.FileMode) (string, error) {
	return writeTemp(path, data, perm, true)
}

func writeTemp(path string, data []byte, perm fs.FileMode, sync bool) (string, error) {
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
	if err == nil && sync {
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
