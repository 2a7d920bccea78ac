package azurerm

import (
	"testing"

	"github.com/runbook-dev/runbook/clock"
	"github.com/runbook-dev/runbook/internal/azuritetest"
	"github.com/runbook-dev/runbook/state"
	"github.com/runbook-dev/runbook/state/statetest"
)

// BenchmarkPlanAfterRuns plans a 1,000-step runbook with its state in
// Azurite after 0, 1 and 100 earlier runs (see statetest.BenchPlanAfterRuns).
func BenchmarkPlanAfterRuns(b *testing.B) {
	statetest.BenchPlanAfterRuns(b, benchBackend)
}

// benchBackend is a backend in a fresh Azurite container on the wall
// clock, with the function that counts its requests.
func benchBackend(b *testing.B) (state.Backend, func() int64) {
	s, name := azuritetest.Container(b)
	be, err := New(Config{Account: azuritetest.Account, Endpoint: s.Endpoint, Container: name, Key: "bench",
		AccessKey: azuritetest.Key, Clock: clock.Real})
	if err != nil {
		b.Fatal(err)
	}
	return be, func() int64 { return be.Stats().Requests }
}
