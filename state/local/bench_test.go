package local

import (
	"testing"

	"github.com/runbook-dev/runbook/state"
	"github.com/runbook-dev/runbook/state/statetest"
)

// BenchmarkPlanAfterRuns plans a 1,000-step runbook with its state in a
// local .runbook directory after 0, 1 and 100 earlier runs (see
// statetest.BenchPlanAfterRuns).
func BenchmarkPlanAfterRuns(b *testing.B) {
	statetest.BenchPlanAfterRuns(b, func(b *testing.B) (state.Backend, func() int64) {
		return New(b.TempDir()), nil
	})
}
