package steps

import (
	"context"
	"fmt"
	"strconv"

	"github.com/runbook-dev/runbook/lang"
	"github.com/runbook-dev/runbook/pep"
	"github.com/zclconf/go-cty/cty"
)

// ResultUser is the key of a bmc_password result holding the BMC user the
// step set ("" when it left the user alone), so that a later plan shows a
// new user as a change from the one set before.
const ResultUser = "user"

// countBMCs asks the PEP how many scale-unit nodes (one BMC each) the stamp
// has, from Get-AzureStackStampInformation's NumberOfNodes; 0 when the
// stamp does not say.
func countBMCs(ctx context.Context, s pep.Session) int {
	res, err := s.Invoke(ctx, pep.Call{Cmdlet: "Get-AzureStackStampInformation"})
	if err != nil {
		return 0
	}
	for _, o := range res.Objects() {
		m, ok := o.(map[string]any)
		if !ok {
			continue
		}
		for k, v := range m {
			if !eqFold(k, "NumberOfNodes") {
				continue
			}
			switch n := v.(type) {
			case int32:
				return int(n)
			case int64:
				return int(n)
			case int:
				return n
			case string:
				i, _ := strconv.Atoi(n)
				return i
			}
		}
	}
	return 0
}

// bmcSummary completes "step.x (bmc_password) will …" in words a reviewer
// cannot misread: which cmdlet runs, on how many BMCs, and whether the BMCs
// change at all.
func (c *bmcConfig) bmcSummary(cmdlet string, bmcs int) string {
	on := "every node"
	if bmcs > 0 {
		on = fmt.Sprintf("%d nodes", bmcs)
	}
	if c.bypass {
		return fmt.Sprintf("update only the stamp's record of the BMC credential, not the BMCs (bypass_bmc_update), with %s on %s", cmdlet, on)
	}
	what := "password"
	if c.user != "" {
		what = "user and password"
	}
	return fmt.Sprintf("set the BMC %s on the BMCs of %s and in the stamp's record, with %s", what, on, cmdlet)
}

// bmcState is a bmc_password change's Before or After: the credential, the
// cmdlet, how many BMCs and what the cmdlet updates.
func (c *bmcConfig) bmcState(user, password cty.Value, cmdlet string, bmcs int) cty.Value {
	updates := "the BMCs and the stamp's record"
	if c.bypass {
		updates = "only the stamp's record, not the BMCs"
	}
	n := cty.NullVal(cty.Number)
	if bmcs > 0 {
		n = cty.NumberIntVal(int64(bmcs))
	}
	return cty.ObjectVal(map[string]cty.Value{
		"user":     user,
		"password": password,
		"cmdlet":   cty.StringVal(cmdlet),
		"bmcs":     n,
		"updates":  cty.StringVal(updates),
	})
}

// userBefore is the BMC user as the last successful run of this step set
// it, or null when no run recorded one: a user set now is then shown as
// added, and a different user as changed.
func userBefore(last map[string]string) cty.Value {
	if u := last[ResultUser]; u != "" {
		return cty.StringVal(u)
	}
	return cty.NullVal(cty.String)
}

// sensitiveUnknown is a password no one can read back.
func sensitiveUnknown() cty.Value { return cty.UnknownVal(cty.String).Mark(lang.Sensitive) }
