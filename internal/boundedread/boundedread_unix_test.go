//go:build unix

package boundedread

import (
	"errors"
	"path/filepath"
	"syscall"
	"testing"
)

// A FIFO and /dev/zero would block or never end: both are refused before
// a byte is read.
func TestFileSpecial(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{fifo, "/dev/zero"} {
		if _, err := File(p, 1<<20); !errors.Is(err, ErrNotRegular) {
			t.Errorf("File(%s) error = %v, want ErrNotRegular", p, err)
		}
	}
}
