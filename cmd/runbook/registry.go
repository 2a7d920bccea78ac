package main

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/runbook-dev/runbook/executor"
	"github.com/runbook-dev/runbook/lang"
	"github.com/runbook-dev/runbook/steps"
)

// registry returns the step types runbook knows, without connections: for
// their names and offline checks (a session's registry plans and applies).
func registry() *executor.Registry { return steps.Registry(nil, nil, nil) }

func stepTypeNames() []string { return registry().Names() }

// validateSteps runs the executor's offline checks: step bodies against
// their schemas, and dependency cycles.
func validateSteps(rb *lang.Runbook) hcl.Diagnostics {
	_, diags := executor.Validate(rb, registry())
	return diags
}
