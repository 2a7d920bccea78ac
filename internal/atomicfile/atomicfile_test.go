package atomicfile

import (
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func TestWrite(t *testing.T) {
	tests := map[string]struct {
		old      []byte // nil: no file before
		data     []byte
		perm     fs.FileMode
		unsynced bool
	}{
		"new private file":  {data: []byte("key"), perm: 0o600},
		"replaces":          {old: []byte("old content, longer"), data: []byte("new"), perm: 0o644},
		"empty":             {old: []byte("x"), data: []byte{}, perm: 0o600},
		"unsynced replaces": {old: []byte("old"), data: []byte("simulator state"), perm: 0o600, unsynced: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "state.json")
			if tc.old != nil {
				if err := os.WriteFile(path, tc.old, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			write := Write
			if tc.unsynced {
				write = WriteUnsynced
			}
			if err := write(path, tc.data, tc.perm); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(path)
			if err != nil || string(got) != string(tc.data) {
				t.Errorf("content = %q, %v; want %q", got, err, tc.data)
			}
			if info, err := os.Stat(path); err == nil && runtime.GOOS != "windows" && info.Mode().Perm() != tc.perm {
				t.Errorf("mode = %v, want %v", info.Mode().Perm(), tc.perm)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 1 {
				t.Errorf("directory holds %d entries, want only the file (no temporary left)", len(entries))
			}
		})
	}
}

func TestWriteMissingDir(t *testing.T) {
	if err := Write(filepath.Join(t.TempDir(), "no", "such", "f"), []byte("x"), 0o600); err == nil {
		t.Error("Write into a missing directory succeeded")
	}
}

// TestWriteTempThenLink is the create-once use: a second link to the same
// name fails and leaves the first content.
func TestWriteTempThenLink(t *testing.T) {
	path := filepath.Join(t.TempDir(), "key")
	for i, data := range []string{"first", "second"} {
		tmp, err := WriteTemp(path, []byte(data), 0o600)
		if err != nil {
			t.Fatal(err)
		}
		err = os.Link(tmp, path)
		os.Remove(tmp)
		if (err != nil) != (i == 1) {
			t.Errorf("link %d: err = %v", i, err)
		}
	}
	if got, _ := os.ReadFile(path); string(got) != "first" {
		t.Errorf("content = %q, want first", got)
	}
}
