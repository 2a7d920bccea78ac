//go:build unix

package local

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// checkPrivate refuses a state directory, key or runs directory that
// someone other than the current user could write, as ssh refuses a
// private key others can read: such a user could forge the MACs of saved
// plans or plant journals. Paths that do not exist yet pass.
func checkPrivate(paths ...string) error {
	uid := os.Getuid()
	for _, p := range paths {
		info, err := os.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		if info.Mode()&fs.ModeSymlink != 0 {
			return fmt.Errorf("%s is a symbolic link: runbook keeps its state only in a directory of its own; replace the link by the directory", p)
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok && int(st.Uid) != uid {
			return fmt.Errorf("%s belongs to user id %d, not to you (%d): runbook trusts its key and journals only in state the user running it owns", p, st.Uid, uid)
		}
		if perm := info.Mode().Perm(); perm&0o022 != 0 {
			return fmt.Errorf("permissions %04o for %s are too open: others could forge plans or journals; make it writable by you alone (chmod go-w %s)", perm, p, p)
		}
	}
	return nil
}

// restrictToOwner is a no-op where mode bits do the work (0700 and 0600
// at creation).
func restrictToOwner(string) error { return nil }
