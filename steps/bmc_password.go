package steps

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/runbook-dev/runbook/executor"
	"github.com/runbook-dev/runbook/executor/plan"
	"github.com/runbook-dev/runbook/lang"
	"github.com/runbook-dev/runbook/pep"
	"github.com/zclconf/go-cty/cty"
)

// BMCPassword is the bmc_password step type: it sets the password of every
// baseboard management controller (BMC) of the stamp, and the credential
// Azure Stack Hub stores for them, as Set-BmcCredential on the Privileged
// Endpoint does, declaratively.
//
//	step "bmc_password" "bmc" {
//	  pep               = pep.east
//	  password          = var.bmc_password  # at most 16 characters
//	  user              = "bmcadmin"        # optional, at most 16 characters
//	  bypass_bmc_update = false             # true: the BMCs were changed with OEM tools; update only what the stamp stores
//	}
//
// A user taken from a sensitive value is a secret like the password: the
// plan shows it as (sensitive value), the step's output keeps it marked,
// and it is not journalled (the fingerprint covers it, so a new user is
// still a change).
//
// A BMC password cannot be read back, so the journal is the only proof of
// what was set: the executor journals the HMAC fingerprint of the
// credential after a successful apply, and a plan whose credential has the
// same fingerprint proposes no change. Plan checks the password locally (it
// never reaches a BMC that would refuse it) and asks the PEP which cmdlet
// it offers: Set-BmcCredential, or Set-BmcPassword on stamps older than
// 1910. Setting the same password twice is harmless, so the type is
// RepeatSafe and Resume simply runs the cmdlet again.
type BMCPassword struct {
	peps PEPSource
}

var _ executor.StepType = BMCPassword{}

// ResultPasswordFingerprint is the Result key of a bmc_password apply: the
// plan-keyed HMAC of the user and password set, which the next plan
// compares to decide whether the password is already set.
const ResultPasswordFingerprint = "fingerprint"

// ResultKeys are the keys of the Result the journal keeps: the HMAC
// fingerprint, never the password, and the BMC user name set.
func (BMCPassword) ResultKeys() []string { return []string{ResultPasswordFingerprint, ResultUser} }

// NewBMCPassword returns the bmc_password step type.
func NewBMCPassword(peps PEPSource) executor.StepType { return BMCPassword{peps: peps} }

// The cmdlets that set BMC credentials on the PEP.
const (
	// CmdletSetBmcCredential sets the BMCs' password (and optionally their
	// user) and the stored credential; since 1910 it changes the BMCs
	// itself.
	CmdletSetBmcCredential = "Set-BmcCredential"
	// CmdletSetBmcPassword is the older name (1803 and later), which takes
	// only -BmcPassword.
	CmdletSetBmcPassword = "Set-BmcPassword"
)

// Keys of a bmc_password change's Private map and Fingerprints.
const (
	// PrivateCmdlet is the cmdlet the plan found on the PEP.
	PrivateCmdlet = "cmdlet"
	// FingerprintPassword is the HMAC of the password alone, which apply
	// checks against the value it is given.
	FingerprintPassword = "password"
)

var bmcPasswordSpec = &hcldec.ObjectSpec{
	"pep":               &hcldec.AttrSpec{Name: "pep", Type: cty.DynamicPseudoType, Required: true},
	"password":          &hcldec.AttrSpec{Name: "password", Type: cty.String, Required: true},
	"user":              &hcldec.AttrSpec{Name: "user", Type: cty.String},
	"bypass_bmc_update": &hcldec.AttrSpec{Name: "bypass_bmc_update", Type: cty.Bool},
}

// bmcPasswordOutputs is the type of step.NAME for a bmc_password: the pep
// block's name, the BMC user (null when the step leaves it alone) and the
// cmdlet used. The password is not an output.
var bmcPasswordOutputs = cty.Object(map[string]cty.Type{
	"pep":    cty.String,
	"user":   cty.String,
	"cmdlet": cty.String,
})

// Name returns "bmc_password".
func (BMCPassword) Name() string { return "bmc_password" }

// Schema returns the body schema.
func (BMCPassword) Schema() hcldec.Spec { return bmcPasswordSpec }

// Outputs returns {pep, user, cmdlet}.
func (BMCPassword) Outputs() cty.Type { return bmcPasswordOutputs }

// bmcExpected is the default expected duration. Microsoft documents none;
// the cmdlet's action plan visits every node of the scale unit.
const bmcExpected = 10 * time.Minute

// Info: about ten minutes, repeat-safe, acting on the PEP.
func (BMCPassword) Info(config cty.Value) executor.Info {
	info := executor.Info{ExpectedDuration: bmcExpected, Timeout: time.Hour, RepeatSafe: true}
	if name := (&stepConfig{val: config}).pepRef(); name != "" {
		info.Targets = []string{"pep." + name}
	}
	return info
}

// bmcConfig is a bmc_password body, read and checked locally.
type bmcConfig struct {
	*stepConfig
	pepName, password, user string
	bypass                  bool
	// userSensitive says that the user comes from a sensitive value: it is
	// then shown as (sensitive value), kept marked in the step's outputs,
	// and never journalled (the password fingerprint covers it).
	userSensitive bool
}

// readBMCConfig reads the body and checks the password and user with
// diagnostics.
func readBMCConfig(s *stepConfig) *bmcConfig {
	c := &bmcConfig{stepConfig: s, pepName: s.pepRef(), user: s.str("user"), bypass: s.boolean("bypass_bmc_update")}
	c.password = s.str("password")
	if v, ok := s.get("password"); ok && v.Type() == cty.String {
		c.checkPassword(s.val.GetAttr("password").HasMark(lang.Sensitive))
	}
	if _, ok := s.get("user"); ok {
		c.checkUser()
		c.userSensitive = s.val.GetAttr("user").HasMark(lang.Sensitive)
	}
	return c
}

// userValue is the user as the plan and the outputs show it: null when the
// step leaves the BMC user alone, marked when it is sensitive.
func (c *bmcConfig) userValue() cty.Value {
	v := optString(c.user)
	if c.userSensitive {
		v = v.Mark(lang.Sensitive)
	}
	return v
}

// pepRef returns the name of the pep block the pep attribute refers to.
func (s *stepConfig) pepRef() string { return s.blockRef("pep") }

// Plan checks the password, asks the PEP which cmdlet it offers and
// proposes to set the password unless the journal shows this very
// credential was set last.
func (t BMCPassword) Plan(ctx context.Context, req *executor.PlanRequest) *executor.PlanResponse {
	c := readBMCConfig(newStepConfig(req.Step, req.Config))
	resp := &executor.PlanResponse{}
	if c.diags.HasErrors() {
		resp.Diagnostics = c.diags
		return resp
	}
	cmdlet, bmcs := c.planCmdlet(ctx, t.peps, req)
	resp.Diagnostics = c.diags
	if c.diags.HasErrors() {
		return resp
	}
	resp.Private = map[string]string{PrivateCmdlet: cmdlet}
	resp.ExpectedDuration = stepExpected(req.Step, bmcExpected)
	resp.Outputs = c.outputs(cmdlet)
	fp := ""
	if req.Fingerprint != nil {
		resp.Fingerprints = map[string]string{FingerprintPassword: req.Fingerprint([]byte(c.password))}
		fp = c.fingerprint(req.Fingerprint)
	}
	user := c.userValue()
	password := cty.StringVal(c.password).Mark(lang.Sensitive)
	var last map[string]string
	if req.History != nil {
		last = req.History.LastSuccess
	}
	switch {
	case fp != "" && last[ResultPasswordFingerprint] == fp:
		resp.Action = plan.NoOp
		resp.Reason = "the journal shows this step set this very credential last"
		state := c.bmcState(user, password, cmdlet, bmcs)
		resp.Before, resp.After = state, state
		return resp
	case last[ResultPasswordFingerprint] == "":
		resp.Reason = "no successful run of this step is journalled"
	default:
		resp.Reason = "the credential differs from the one this step set last"
	}
	resp.Action, resp.Summary = plan.Update, c.bmcSummary(cmdlet, bmcs)
	// The PEP cannot read a BMC's credential back: the password before is
	// unknown, and the user before is the one this step set last, as the
	// journal recorded it (with no user the step leaves the BMC user
	// alone).
	before := user
	switch {
	case c.userSensitive && last[ResultPasswordFingerprint] == "":
		before = cty.NullVal(cty.String) // set for the first time
	case c.userSensitive:
		// A sensitive user is not journalled: the one set last is
		// unknown (the fingerprint that covers it differs).
		before = sensitiveUnknown()
	case c.user != "":
		before = userBefore(last)
	}
	resp.Before = c.bmcState(before, sensitiveUnknown(), cmdlet, bmcs)
	resp.After = c.bmcState(user, password, cmdlet, bmcs)
	return resp
}

// fingerprint is the HMAC that the journal keeps of a successful apply and
// that the "no change" rule compares: of the password alone, or, when the
// step also sets the BMC user, of the user and the password, so that a
// new user is a change too.
func (c *bmcConfig) fingerprint(fp func([]byte) string) string {
	if c.user == "" {
		return fp([]byte(c.password))
	}
	return fp([]byte("bmc-user\x00" + c.user + "\x00" + c.password))
}

// outputs is the step's value.
func (c *bmcConfig) outputs(cmdlet string) cty.Value {
	return cty.ObjectVal(map[string]cty.Value{
		"pep": cty.StringVal(c.pepName), "user": c.userValue(), "cmdlet": cty.StringVal(cmdlet),
	})
}

// planCmdlet opens a session, finds the cmdlet and counts the BMCs, and
// closes the session, with diagnostics on the pep attribute (or on the
// options the older cmdlet lacks).
func (c *bmcConfig) planCmdlet(ctx context.Context, peps PEPSource, req *executor.PlanRequest) (cmdlet string, bmcs int) {
	secrets := c.secrets(req.Runbook)
	s, ok := c.openPEP(ctx, peps, c.pepName, secrets)
	if !ok {
		return "", 0
	}
	cmdlet, err := findCmdlet(ctx, s)
	if err == nil {
		bmcs = countBMCs(ctx, s)
	}
	if cerr := closePEP(ctx, req.Clock, s); cerr != nil {
		c.diags = append(c.diags, &hcl.Diagnostic{
			Severity: hcl.DiagWarning, Summary: "PEP session not closed",
			Detail: fmt.Sprintf("Closing the session on pep %s failed: %s. The PEP keeps it until its idle timeout, and it counts against the PEP's session limit until then.",
				c.pepName, redact(cerr, secrets...)),
			Subject: c.rng("pep").Ptr(),
		})
	}
	switch {
	case errors.Is(err, errNoBMCCmdlet):
		c.errorf("pep", "Cannot set BMC credentials on this PEP", "%s.", redact(err, secrets...))
		return "", 0
	case err != nil:
		// The question failed, not the PEP's answer: say so, so that a
		// dropped connection does not read as a PEP without the cmdlets.
		again := ""
		if pep.Retryable(err) {
			again = " The failure looks transient: plan again."
		}
		c.errorf("pep", "Cannot ask the PEP for its BMC cmdlets",
			"Get-Command on pep %s failed: %s.%s", c.pepName, redact(err, secrets...), again)
		return "", 0
	}
	if cmdlet == CmdletSetBmcPassword {
		if c.user != "" {
			c.errorf("user", "BMC user cannot be set on this stamp",
				"The PEP of pep %s offers only Set-BmcPassword (Azure Stack Hub before 1910), which sets the password alone. Remove user, and change the BMC user with your hardware vendor's tools.", c.pepName)
		}
		if c.bypass {
			c.errorf("bypass_bmc_update", "bypass_bmc_update not supported on this stamp",
				"The PEP of pep %s offers only Set-BmcPassword (Azure Stack Hub before 1910), which never changes the BMCs themselves: change them first with your hardware vendor's tools, then run this step without bypass_bmc_update.", c.pepName)
		}
	}
	return cmdlet, bmcs
}

// secrets are the values this step must never print: the BMC password and
// the PEP's password.
func (c *bmcConfig) secrets(rb *lang.Runbook) []string {
	out := []string{c.password}
	if rb != nil {
		if b, ok := rb.PEPs[c.pepName]; ok {
			out = append(out, b.Password.Reveal())
		}
	}
	return out
}
