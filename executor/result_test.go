package executor_test

import (
	"context"
	"testing"
	"testing/synctest"

	"github.com/google/go-cmp/cmp"
	"github.com/runbook-dev/runbook/executor"
	"github.com/runbook-dev/runbook/executor/journal"
	"github.com/runbook-dev/runbook/executor/steptest"
)

// TestApplyJournalsDeclaredResultKeys checks that the journal keeps the
// whole result of a success under the keys its type declared, and drops any
// other key (a type's slip must not put a secret in the journal).
func TestApplyJournalsDeclaredResultKeys(t *testing.T) {
	tests := map[string]struct {
		keys   []string
		result map[string]string
		want   map[string]string
	}{
		"every declared key": {
			keys:   []string{"pfx_sha256", "package_id", "not_after"},
			result: map[string]string{"pfx_sha256": "ab12", "package_id": "microsoft.eventhub.1.2003.0.0", "not_after": "2027-03-01T00:00:00Z"},
			want:   map[string]string{"pfx_sha256": "ab12", "package_id": "microsoft.eventhub.1.2003.0.0", "not_after": "2027-03-01T00:00:00Z"},
		},
		"undeclared keys dropped": {
			keys:   []string{"pfx_sha256"},
			result: map[string]string{"pfx_sha256": "ab12", "password": "canary-undeclared"},
			want:   map[string]string{"pfx_sha256": "ab12"},
		},
		"nothing declared": {
			result: map[string]string{"password": "canary-undeclared"},
		},
		"declared but not set": {
			keys: []string{"pfx_sha256"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				typ := &steptest.Type{Keys: tc.keys}
				typ.ApplyFn = func(ctx context.Context, req *executor.ApplyRequest) *executor.ApplyResponse {
					return &executor.ApplyResponse{Result: tc.result}
				}
				r := applySrc(t, `step "test" "a" {}`, typ, nil)
				run, err := journal.Load(r.journal)
				if err != nil {
					t.Fatal(err)
				}
				st := run.Steps["step.a"]
				if st == nil || st.Status != journal.Succeeded {
					t.Fatalf("step.a in the journal = %+v, want a success", st)
				}
				if diff := cmp.Diff(tc.want, st.Result); diff != "" {
					t.Errorf("journalled result (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(tc.want, r.res.Steps["step.a"].Result); diff != "" {
					t.Errorf("apply result (-want +got):\n%s", diff)
				}
			})
		})
	}
}
