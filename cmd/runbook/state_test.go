package main

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
)

// A key file of the wrong size (a crash between create and write leaves an
// empty one) is an error that names the file and says what to do; it is
// neither replaced silently nor a reason to recurse.
func TestKeyMalformed(t *testing.T) {
	// Before the fix a malformed key recursed until the stack overflowed;
	// a small stack makes that quick.
	defer debug.SetMaxStack(debug.SetMaxStack(8 << 20))
	for name, content := range map[string][]byte{
		"empty":     {},
		"torn":      []byte("12345"),
		"too long":  bytes.Repeat([]byte("k"), 33),
		"too short": bytes.Repeat([]byte("k"), 31),
	} {
		t.Run(name, func(t *testing.T) {
			s := stateDir{root: t.TempDir()}
			if err := os.WriteFile(s.path("key"), content, 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := s.key()
			if err == nil {
				t.Fatal("key() accepted a malformed key")
			}
			for _, want := range []string{s.path("key"), "malformed", "delete it"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			if b, _ := os.ReadFile(s.path("key")); !bytes.Equal(b, content) {
				t.Errorf("the malformed key was changed to %q", b)
			}
		})
	}
}

// Processes creating the key at once all end up with the same key, and no
// temporary file is left behind.
func TestKeyConcurrentCreate(t *testing.T) {
	s := stateDir{root: filepath.Join(t.TempDir(), ".runbook")}
	const n = 8
	keys := make([][]byte, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k, err := s.key()
			if err != nil {
				t.Error(err)
			}
			keys[i] = k
		}()
	}
	wg.Wait()
	for i := range keys {
		if len(keys[i]) != keySize || !bytes.Equal(keys[i], keys[0]) {
			t.Fatalf("key %d = %x, key 0 = %x", i, keys[i], keys[0])
		}
	}
	again, err := s.key()
	if err != nil || !bytes.Equal(again, keys[0]) {
		t.Fatalf("key() after creation = %x, %v; want %x", again, err, keys[0])
	}
	entries, _ := os.ReadDir(s.root)
	if len(entries) != 1 {
		t.Errorf("state directory holds %d entries, want only the key: %v", len(entries), entries)
	}
}
