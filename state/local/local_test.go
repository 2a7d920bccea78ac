package local

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/runbook-dev/runbook/internal/boundedread"
	"github.com/runbook-dev/runbook/state"
	"github.com/runbook-dev/runbook/state/statetest"
)

func TestContract(t *testing.T) {
	statetest.Run(t, func(t *testing.T) func() state.Backend {
		dir := t.TempDir()
		return func() state.Backend { return New(dir) }
	})
}

// TestReadsAreBounded: a journal or state document larger than runbook
// ever writes is refused, not read into memory (sparse files: nothing is
// written to disk).
func TestReadsAreBounded(t *testing.T) {
	b := New(t.TempDir())
	if err := os.MkdirAll(b.RunsDir(), 0o700); err != nil {
		t.Fatal(err)
	}
	for path, size := range map[string]int64{
		b.journalPath("huge"): boundedread.Journal + 1,
		b.path(documentName):  boundedread.Document + 1,
	} {
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Truncate(size); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	if _, err := b.ReadJournal(context.Background(), "huge"); !errors.Is(err, boundedread.ErrTooLarge) {
		t.Errorf("ReadJournal of an oversized journal: %v, want ErrTooLarge", err)
	}
	if _, _, err := b.ReadDocument(context.Background()); !errors.Is(err, boundedread.ErrTooLarge) {
		t.Errorf("ReadDocument of an oversized document: %v, want ErrTooLarge", err)
	}
}
