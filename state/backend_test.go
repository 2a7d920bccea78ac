package state

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLocks(t *testing.T) {
	tests := map[string]struct {
		targets []string
		want    []string
	}{
		"none":             {nil, []string{"runbook"}},
		"sorted, deduped":  {[]string{"pep:10.0.0.224", "hub:https://a", "pep:10.0.0.224"}, []string{"runbook", "hub:https://a", "pep:10.0.0.224"}},
		"runbook is first": {[]string{"a", "runbook"}, []string{"runbook", "a"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, Locks(tc.targets)); diff != "" {
				t.Errorf("Locks (-want +got):\n%s", diff)
			}
		})
	}
}
