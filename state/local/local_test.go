package local

import (
	"testing"

	"github.com/runbook-dev/runbook/state"
	"github.com/runbook-dev/runbook/state/statetest"
)

func TestContract(t *testing.T) {
	statetest.Run(t, func(t *testing.T) func() state.Backend {
		dir := t.TempDir()
		return func() state.Backend { return New(dir) }
	})
}
