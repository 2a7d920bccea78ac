package steps

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/runbook-dev/runbook/executor"
	"github.com/runbook-dev/runbook/lang"
	"github.com/zclconf/go-cty/cty"
)

// The step types check their configuration offline for validate: the same
// readers plan uses, before any connection.
var (
	_ executor.ConfigValidator = ProductSecret{}
	_ executor.ConfigValidator = RotateAction{}
	_ executor.ConfigValidator = BMCPassword{}
)

// ValidateConfig checks the hub reference and the package or product.
func (ProductSecret) ValidateConfig(rb *lang.Runbook, step *lang.Step, config cty.Value) hcl.Diagnostics {
	return readPSConfig(offlineConfig(step, config)).diags
}

// ValidateConfig checks the hub reference.
func (RotateAction) ValidateConfig(rb *lang.Runbook, step *lang.Step, config cty.Value) hcl.Diagnostics {
	return readRAConfig(offlineConfig(step, config)).diags
}

// ValidateConfig checks the pep reference, the password's shape and the
// user name.
func (BMCPassword) ValidateConfig(rb *lang.Runbook, step *lang.Step, config cty.Value) hcl.Diagnostics {
	return readBMCConfig(offlineConfig(step, config)).diags
}

func offlineConfig(step *lang.Step, config cty.Value) *stepConfig {
	s := newStepConfig(step, config)
	s.offline = true
	return s
}
