package steps

import (
	"context"
	"strings"
	"testing"

	"github.com/runbook-dev/runbook/executor/plan"
	"github.com/runbook-dev/runbook/executor/render"
	"github.com/runbook-dev/runbook/state"
)

// TestBMCPasswordPlanText checks what a reviewer reads: the cmdlet, how
// many BMCs, bypass_bmc_update in words, and a new user as a change from
// the one the last run set.
func TestBMCPasswordPlanText(t *testing.T) {
	f := newPEPFixture(t, pepFixtureOptions{steps: bmcStep + `
step "bmc_password" "bypass" {
  pep               = pep.east
  password          = var.bmc_password
  bypass_bmc_update = true
}
step "bmc_password" "with_user" {
  pep      = pep.east
  password = var.bmc_password
  user     = "bmcadmin"
}`})
	tests := map[string]struct {
		step string
		last map[string]string
		want []string
		not  []string
	}{
		"bypass": {step: "bypass", want: []string{
			"will update only the stamp's record of the BMC credential, not the BMCs (bypass_bmc_update), with Set-BmcCredential on 3 nodes",
			`updates  = "only the stamp's record, not the BMCs"`,
		}, not: []string{"set the BMC password"}},
		"plain": {step: "bmc", want: []string{
			"will set the BMC password on the BMCs of 3 nodes and in the stamp's record, with Set-BmcCredential",
			`cmdlet   = "Set-BmcCredential"`, "bmcs     = 3",
		}, not: []string{"user"}},
		"user changes": {step: "with_user", last: map[string]string{ResultPasswordFingerprint: "hmac-sha256:00", ResultUser: "root"},
			want: []string{`~ user     = "root" -> "bmcadmin"`}},
		"user first set": {step: "with_user", want: []string{`+ user     = "bmcadmin"`}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var h *state.History
			if tc.last != nil {
				h = &state.History{LastSuccess: tc.last}
			}
			req := f.request(tc.step, h)
			resp := BMCPassword{peps: f.dialer}.Plan(context.Background(), req)
			if resp.Diagnostics.HasErrors() {
				t.Fatal(resp.Diagnostics.Error())
			}
			p := &plan.Plan{Changes: []*plan.Change{{
				Address: req.Address.String(), Type: "bmc_password", Name: tc.step, Action: resp.Action,
				Summary: resp.Summary, Before: resp.Before, After: resp.After,
			}}}
			var b strings.Builder
			if err := render.Text(&b, p, render.Options{}); err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("plan lacks %q:\n%s", w, b.String())
				}
			}
			for _, n := range tc.not {
				if strings.Contains(b.String(), n) {
					t.Errorf("plan says %q:\n%s", n, b.String())
				}
			}
		})
	}
}
