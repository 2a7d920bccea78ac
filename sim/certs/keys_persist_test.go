package certs

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func TestPersistKeys(t *testing.T) {
	dir := t.TempDir()
	PersistKeys(dir)
	defer PersistKeys("")
	k1, ok, err := persistedKey("signing:test-persist", KeyBits)
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	k2, _, err := persistedKey("signing:test-persist", KeyBits)
	if err != nil || !k1.Equal(k2) {
		t.Fatalf("the key was not reused: %v", err)
	}
	info, err := os.Stat(filepath.Join(dir, "signing-test-persist-2048.key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 && runtime.GOOS != "windows" {
		t.Errorf("mode %v, want 0600", info.Mode().Perm())
	}
}
