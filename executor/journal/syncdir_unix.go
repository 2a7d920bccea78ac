//go:build !windows

package journal

import "os"

// syncDir fsyncs a directory so that a file just created in it survives a
// crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
