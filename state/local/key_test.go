package local

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"testing"

	"github.com/runbook-dev/runbook/state"
)

// A key file of the wrong size (a crash between create and write leaves an
// empty one) is an error that names the file and says what to do; it is
// neither replaced silently nor a reason to recurse.
func TestKeyMalformed(t *testing.T) {
	// A malformed key once recursed until the stack overflowed; a small
	// stack makes that quick.
	defer debug.SetMaxStack(debug.SetMaxStack(8 << 20))
	for name, content := range map[string][]byte{
		"empty":     {},
		"torn":      []byte("12345"),
		"too long":  bytes.Repeat([]byte("k"), 33),
		"too short": bytes.Repeat([]byte("k"), 31),
	} {
		t.Run(name, func(t *testing.T) {
			b := New(t.TempDir())
			if err := os.WriteFile(b.KeyPath(), content, 0o600); err != nil {
				t.Fatal(err)
			}
			for what, key := range map[string]func(context.Context) ([]byte, error){"Key": b.Key, "ReadKey": b.ReadKey} {
				_, err := key(context.Background())
				if err == nil {
					t.Fatalf("%s accepted a malformed key", what)
				}
				for _, want := range []string{b.KeyPath(), "malformed", "delete it"} {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("%s: error %q does not say %q", what, err, want)
					}
				}
			}
			if got, _ := os.ReadFile(b.KeyPath()); !bytes.Equal(got, content) {
				t.Errorf("the malformed key was changed to %q", got)
			}
		})
	}
}

// Processes creating the key at once all end up with the same key, and no
// temporary file is left behind.
func TestKeyConcurrentCreate(t *testing.T) {
	b := New(filepath.Join(t.TempDir(), ".runbook"))
	const n = 8
	keys := make([][]byte, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k, err := New(b.Root).Key(context.Background())
			if err != nil {
				t.Error(err)
			}
			keys[i] = k
		}()
	}
	wg.Wait()
	for i := range keys {
		if len(keys[i]) != KeySize || !bytes.Equal(keys[i], keys[0]) {
			t.Fatalf("key %d = %x, key 0 = %x", i, keys[i], keys[0])
		}
	}
	again, err := b.ReadKey(context.Background())
	if err != nil || !bytes.Equal(again, keys[0]) {
		t.Fatalf("ReadKey after creation = %x, %v; want %x", again, err, keys[0])
	}
	entries, _ := os.ReadDir(b.Root)
	if len(entries) != 1 {
		t.Errorf("state directory holds %d entries, want only the key: %v", len(entries), entries)
	}
}

// ReadKey makes no key: before Key made one it says so (state.ErrNotFound)
// and leaves no directory behind.
func TestReadKeyMakesNone(t *testing.T) {
	b := New(filepath.Join(t.TempDir(), ".runbook"))
	if _, err := b.ReadKey(context.Background()); !errors.Is(err, state.ErrNotFound) {
		t.Fatalf("ReadKey of no key = %v, want ErrNotFound", err)
	}
	if _, err := os.Stat(b.Root); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ReadKey made %s (%v)", b.Root, err)
	}
}

// A state directory, key, runs or locks directory others could write is
// refused by Key and ReadKey, naming the path and the remedy; readable by
// others is accepted.
func TestKeyRefusesOpenModes(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("mode bits; Windows gets an owner-only DACL instead")
	}
	for name, tc := range map[string]struct {
		path string
		mode os.FileMode
		want string // "" means accepted
	}{
		"root 0777":     {".", 0o777, "permissions 0777 for ROOT are too open"},
		"root 0755":     {".", 0o755, ""},
		"key 0666":      {"key", 0o666, "permissions 0666 for ROOT/key are too open"},
		"key 0644":      {"key", 0o644, ""},
		"runs 0777":     {"runs", 0o777, "permissions 0777 for ROOT/runs are too open"},
		"locks 0770":    {"locks", 0o770, "permissions 0770 for ROOT/locks are too open"},
		"runs readable": {"runs", 0o755, ""},
	} {
		t.Run(name, func(t *testing.T) {
			b := New(filepath.Join(t.TempDir(), ".runbook"))
			if _, err := b.Key(context.Background()); err != nil {
				t.Fatal(err)
			}
			for _, d := range []string{b.RunsDir(), b.LocksDir()} {
				if err := os.Mkdir(d, 0o700); err != nil {
					t.Fatal(err)
				}
			}
			p := filepath.Join(b.Root, tc.path)
			if err := os.Chmod(p, tc.mode); err != nil {
				t.Fatal(err)
			}
			want := strings.ReplaceAll(tc.want, "ROOT", b.Root)
			for what, key := range map[string]func(context.Context) ([]byte, error){"Key": b.Key, "ReadKey": b.ReadKey} {
				_, err := key(context.Background())
				switch {
				case want == "" && err != nil:
					t.Errorf("%s: %v, want the key", what, err)
				case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
					t.Errorf("%s: %v, want an error saying %q", what, err, want)
				}
			}
		})
	}
}
