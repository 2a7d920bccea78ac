package boundedread

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"
)

func TestFile(t *testing.T) {
	dir := t.TempDir()
	small := filepath.Join(dir, "small")
	big := filepath.Join(dir, "big")
	os.WriteFile(small, []byte("0123456789"), 0o600)
	os.WriteFile(big, make([]byte, 11), 0o600)
	tests := map[string]struct {
		path string
		want error
	}{
		"fits":      {path: small},
		"too large": {path: big, want: ErrTooLarge},
		"directory": {path: dir, want: ErrNotRegular},
		"device":    {path: os.DevNull, want: ErrNotRegular},
		"missing":   {path: filepath.Join(dir, "nope"), want: os.ErrNotExist},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			b, err := File(tt.path, 10)
			if tt.want == nil {
				if err != nil || string(b) != "0123456789" {
					t.Fatalf("File = %q, %v", b, err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("File error = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestFS(t *testing.T) {
	fsys := fstest.MapFS{"a": {Data: []byte("abc")}, "b": {Data: make([]byte, 100)}, "d/x": {Data: nil}}
	if b, err := FS(fsys, "a", 3); err != nil || string(b) != "abc" {
		t.Fatalf("FS(a) = %q, %v", b, err)
	}
	if _, err := FS(fsys, "b", 3); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("FS(b) error = %v, want ErrTooLarge", err)
	}
	if _, err := FS(fsys, "d", 3); !errors.Is(err, ErrNotRegular) {
		t.Fatalf("FS(d) error = %v, want ErrNotRegular", err)
	}
}
