package azuritetest

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

// TestContainer writes a blob into a fresh container and reads it back,
// and finds its content in Azurite's data directory.
func TestContainer(t *testing.T) {
	s, name := Container(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := s.Client()
	if err != nil {
		t.Fatal(err)
	}
	want := []byte("azuritetest-canary-7f3a")
	if _, err := c.UploadBuffer(ctx, name, "a/b.txt", want, nil); err != nil {
		t.Fatal(err)
	}
	resp, err := c.DownloadStream(ctx, name, "a/b.txt", nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("read back %q, %v; want %q", got, err, want)
	}
	found := false
	filepath.Walk(s.Dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			if b, err := os.ReadFile(p); err == nil && bytes.Contains(b, want) {
				found = true
			}
		}
		return nil
	})
	if !found {
		t.Errorf("the blob's content is nowhere under the data directory %s", s.Dir)
	}
}

func TestContainerName(t *testing.T) {
	tests := map[string]struct {
		hint string
		n    int64
		want string
	}{
		"test name":   {"TestLock/two_holders", 3, "testlock-two-holders-3"},
		"empty":       {"", 1, "t-1"},
		"only dashes": {"--//", 2, "t-2"},
		"long":        {strings.Repeat("a", 80), 12, strings.Repeat("a", 60) + "-12"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := containerName(tc.hint, tc.n); got != tc.want {
				t.Errorf("containerName(%q, %d) = %q, want %q", tc.hint, tc.n, got, tc.want)
			}
		})
	}
}
