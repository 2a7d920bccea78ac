package local

import (
	"os"
	"testing"

	"github.com/runbook-dev/runbook/state"
	"github.com/runbook-dev/runbook/state/statetest"
)

func TestDocument(t *testing.T) {
	statetest.RunDocument(t, func(t *testing.T) func() state.Backend {
		dir := t.TempDir()
		return func() state.Backend { return New(dir) }
	}, func(t *testing.T, b state.Backend, run string, data []byte) {
		l := b.(*Backend)
		os.MkdirAll(l.RunsDir(), 0o700)
		if err := os.WriteFile(l.journalPath(run), data, 0o600); err != nil {
			t.Fatal(err)
		}
	})
}

func TestHistory(t *testing.T) {
	statetest.RunHistory(t, func(t *testing.T) func() state.Backend {
		dir := t.TempDir()
		return func() state.Backend { return New(dir) }
	})
}
