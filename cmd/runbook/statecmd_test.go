package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runbook-dev/runbook/state"
	"github.com/runbook-dev/runbook/state/local"
)

// state migrate says which copied steps the next plan proposes again, and
// only when the backend's key is not the local one.
func TestRekeyNote(t *testing.T) {
	e := &env{ctx: context.Background()}
	from := local.New(filepath.Join(t.TempDir(), ".runbook"))
	key, err := from.Key(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	sameKey := local.New(filepath.Join(t.TempDir(), ".runbook"))
	if err := os.MkdirAll(sameKey.Root, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sameKey.KeyPath(), key, 0o600); err != nil {
		t.Fatal(err)
	}
	otherKey := local.New(filepath.Join(t.TempDir(), ".runbook"))
	keyed := []state.Migrated{{Run: "r1"}, {Run: "r2", Fingerprinted: []string{"step.bmc", "step.a"}}, {Run: "r3", Fingerprinted: []string{"step.bmc"}}}
	tests := map[string]struct {
		to   state.Backend
		done []state.Migrated
		want string // "" for no note
	}{
		"other key":       {otherKey, keyed, "the next plan proposes step.a, step.bmc once more"},
		"same key":        {sameKey, keyed, ""},
		"no fingerprints": {otherKey, []state.Migrated{{Run: "r1"}}, ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := rekeyNote(e, from, tc.to, tc.done)
			if tc.want == "" && got != "" || tc.want != "" && !strings.Contains(got, tc.want) {
				t.Errorf("note %q, want %q", got, tc.want)
			}
		})
	}
}
