package steps

import "github.com/runbook-dev/runbook/executor"

// Registry returns every step type runbook ships.
func Registry() *executor.Registry {
	return executor.NewRegistry(NewProductSecret(), NewRotateAction(), NewBMCPassword(), NewWait())
}
