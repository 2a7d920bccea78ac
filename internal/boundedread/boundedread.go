// Package boundedread reads the files a user names (runbooks, var files,
// PFX and CA files, saved plans, keys) with a size limit, and only when they
// are regular files: /dev/zero, a FIFO or a multi-gigabyte file given by
// mistake or malice is a clear error, not a process that hangs or runs out
// of memory.
package boundedread

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// Limits for the kinds of files runbook reads. They are generous for what
// the files hold and small enough to keep memory bounded.
const (
	// Source is the limit of a runbook file, a var file or a saved plan.
	Source = 8 << 20
	// Cert is the limit of a PFX, PEM or CA file (a PFX is a few KiB).
	Cert = 1 << 20
	// Journal is the limit of a run's journal (hundreds of thousands of
	// records).
	Journal = 256 << 20
	// Document is the limit of a state document.
	Document = 64 << 20
)

// ErrTooLarge is wrapped by the error of a file larger than its limit.
var ErrTooLarge = errors.New("file too large")

// ErrNotRegular is wrapped by the error of a path that is not a regular file.
var ErrNotRegular = errors.New("not a regular file")

// File reads the regular file at path, failing if it holds more than max
// bytes. Symbolic links are followed; what they lead to must be a regular
// file. The mode is checked before the file is opened, so a FIFO is refused
// without blocking on it.
func File(path string, max int64) ([]byte, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, asOpen(err)
	}
	if err := check(path, info, max); err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return read(path, f, max)
}

// FS reads name from fsys with the same rules as File.
func FS(fsys fs.FS, name string, max int64) ([]byte, error) {
	info, err := fs.Stat(fsys, name)
	if err != nil {
		return nil, asOpen(err)
	}
	if err := check(name, info, max); err != nil {
		return nil, err
	}
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return read(name, f, max)
}

// asOpen reports a failed stat as the failed open it stands for, so that
// errors read as those of os.ReadFile.
func asOpen(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Op == "stat" {
		return &fs.PathError{Op: "open", Path: pe.Path, Err: pe.Err}
	}
	return err
}

func check(name string, info fs.FileInfo, max int64) error {
	if !info.Mode().IsRegular() {
		return &fs.PathError{Op: "read", Path: name, Err: fmt.Errorf("%w (%s)", ErrNotRegular, kind(info.Mode()))}
	}
	if info.Size() > max {
		return &fs.PathError{Op: "read", Path: name, Err: fmt.Errorf("%w: %d bytes, at most %d are read", ErrTooLarge, info.Size(), max)}
	}
	return nil
}

// read reads at most max bytes and fails if there are more (the file may
// have grown since it was checked).
func read(name string, r io.Reader, max int64) ([]byte, error) {
	if f, ok := r.(fs.File); ok {
		if info, err := f.Stat(); err == nil {
			if err := check(name, info, max); err != nil {
				return nil, err
			}
		}
	}
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, &fs.PathError{Op: "read", Path: name, Err: fmt.Errorf("%w: more than %d bytes", ErrTooLarge, max)}
	}
	return b, nil
}

func kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a device"
	default:
		return "not a regular file"
	}
}
