package steps

import (
	"context"
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

// ReadinessCheck is the readiness_check step type: Test-AzureStack on the
// Privileged Endpoint, in plan and again when apply reaches the step, with
// every warning and failure a blocker (Validate Azure Stack Hub system
// state: for the readiness groups, warnings "should be considered as
// blockers").
//
//	step "readiness_check" "ready" {
//	  pep     = pep.east
//	  group   = "SecretRotationReadiness" # the default; or UpdateReadiness, Default
//	  include = ["AzsInfraCapacity"]      # instead of group: these categories
//	}
//
// A check changes nothing, so every apply runs it again (the plan shows it
// as a run); steps that depend on it start only when it passes.
// secret_rotation runs the same group itself unless readiness = false.
type ReadinessCheck struct {
	peps PEPSource
}

var _ executor.StepType = ReadinessCheck{}

// NewReadinessCheck returns the readiness_check step type.
func NewReadinessCheck(peps PEPSource) executor.StepType { return ReadinessCheck{peps: peps} }

var readinessSpec = &hcldec.ObjectSpec{
	"pep":     &hcldec.AttrSpec{Name: "pep", Type: cty.DynamicPseudoType, Required: true},
	"group":   &hcldec.AttrSpec{Name: "group", Type: cty.String},
	"include": &hcldec.AttrSpec{Name: "include", Type: cty.List(cty.String)},
}

var readinessOutputs = cty.Object(map[string]cty.Type{
	"pep":    cty.String,
	"passed": cty.List(cty.String),
})

// Name returns "readiness_check".
func (ReadinessCheck) Name() string { return "readiness_check" }

// Schema returns the body schema.
func (ReadinessCheck) Schema() hcldec.Spec { return readinessSpec }

// Outputs returns {pep, passed}: the categories that passed.
func (ReadinessCheck) Outputs() cty.Type { return readinessOutputs }

// readinessExpected: Microsoft gives no duration ("can take a while …
// depends on the number of virtual machines"); the only number is the
// 1800-second timeout per group, which bounds an attempt.
const readinessExpected = 15 * time.Minute

// Info: a quarter of an hour, at most the 30-minute group timeout, safe to
// repeat.
func (ReadinessCheck) Info(config cty.Value) executor.Info {
	info := executor.Info{ExpectedDuration: readinessExpected, Timeout: 30 * time.Minute, RepeatSafe: true}
	if name := (&stepConfig{val: config}).pepRef(); name != "" {
		info.Targets = []string{"pep." + name}
	}
	return info
}

type rcConfig struct {
	*stepConfig
	pepName, group string
	include        []string
}

func readRCConfig(s *stepConfig) *rcConfig {
	c := &rcConfig{stepConfig: s, pepName: s.pepRef(), group: s.str("group")}
	if v, ok := s.get("include"); ok && v.CanIterateElements() {
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			if !e.IsNull() {
				c.include = append(c.include, e.AsString())
			}
		}
	}
	if c.group != "" && len(c.include) > 0 {
		c.errorf("include", "Both group and include", "Test-AzureStack runs a group or the included categories, not both: remove one.")
	}
	if c.group == "" && len(c.include) == 0 {
		c.group = GroupSecretRotationReadiness
	}
	return c
}

func (c *rcConfig) what() string {
	if len(c.include) > 0 {
		return fmt.Sprintf("Test-AzureStack -Include %v", c.include)
	}
	return "Test-AzureStack -Group " + c.group
}

func passedList(outcomes []testOutcome) cty.Value {
	var vals []cty.Value
	for _, o := range outcomes {
		if o.Result == "PASS" {
			vals = append(vals, cty.StringVal(o.Name))
		}
	}
	if len(vals) == 0 {
		return cty.ListValEmpty(cty.String)
	}
	return cty.ListVal(vals)
}

// Plan runs the tests now: anything but PASS is an error naming the test.
func (t ReadinessCheck) Plan(ctx context.Context, req *executor.PlanRequest) *executor.PlanResponse {
	c := readRCConfig(newStepConfig(req.Step, req.Config))
	resp := &executor.PlanResponse{}
	if c.diags.HasErrors() {
		resp.Diagnostics = c.diags
		return resp
	}
	secrets := c.secrets(req.Runbook)
	s, ok := c.openPEP(ctx, t.peps, c.pepName, secrets)
	if !ok {
		resp.Diagnostics = c.diags
		return resp
	}
	outcomes, err := runTestAzureStack(ctx, s, c.group, c.include)
	_ = closePEP(ctx, req.Clock, s)
	if err != nil {
		c.errorf("pep", "Cannot run the readiness tests", "%s on pep %s failed: %s.", c.what(), c.pepName, redact(err, secrets...))
	}
	for _, o := range blocking(outcomes) {
		c.diags = append(c.diags, &hcl.Diagnostic{
			Severity: hcl.DiagError, Summary: "Readiness test " + o.Name + " did not pass",
			Detail:  fmt.Sprintf("%s on pep %s reports %s: %s. Warnings of the readiness groups are blockers: fix the stamp and plan again.", c.what(), c.pepName, o.Result, orDefault(o.Message, "no detail given")),
			Subject: c.rng("pep").Ptr(),
		})
	}
	resp.Diagnostics = c.diags
	if c.diags.HasErrors() {
		return resp
	}
	resp.Action, resp.Summary = plan.Run, "run "+c.what()+" again before the steps that depend on it"
	resp.Reason = fmt.Sprintf("%d tests passed now; the stamp is checked again at apply", len(outcomes))
	resp.ExpectedDuration = stepExpected(req.Step, readinessExpected)
	resp.Outputs = cty.ObjectVal(map[string]cty.Value{"pep": cty.StringVal(c.pepName), "passed": passedList(outcomes)})
	return resp
}

// Apply runs the tests again; one that does not pass fails the step.
func (t ReadinessCheck) Apply(ctx context.Context, req *executor.ApplyRequest) *executor.ApplyResponse {
	c := readRCConfig(newStepConfig(req.Step, req.Config))
	if c.diags.HasErrors() {
		return failed(c.diags, false)
	}
	secrets := c.secrets(req.Runbook)
	s, err := t.peps.PEP(ctx, c.pepName)
	if err != nil {
		return &executor.ApplyResponse{Err: redactErr(err, secrets...), Retryable: pep.Retryable(err)}
	}
	defer func() { _ = closePEP(ctx, req.Clock, s) }()
	report(req, 0, "running "+c.what())
	outcomes, err := runTestAzureStack(ctx, s, c.group, c.include)
	if err != nil {
		return &executor.ApplyResponse{Err: redactErr(fmt.Errorf("pep %s: %s: %w", c.pepName, c.what(), err), secrets...), Retryable: pep.Retryable(err)}
	}
	if bad := blocking(outcomes); len(bad) > 0 {
		return &executor.ApplyResponse{Err: fmt.Errorf("pep %s: %s: %s", c.pepName, c.what(), describeBlocking(bad))}
	}
	return &executor.ApplyResponse{Outputs: cty.ObjectVal(map[string]cty.Value{"pep": cty.StringVal(c.pepName), "passed": passedList(outcomes)})}
}

// Resume runs the tests again: they change nothing.
func (t ReadinessCheck) Resume(ctx context.Context, req *executor.ResumeRequest) *executor.ApplyResponse {
	return t.Apply(ctx, &req.ApplyRequest)
}

// ValidateConfig checks group and include.
func (ReadinessCheck) ValidateConfig(rb *lang.Runbook, step *lang.Step, config cty.Value) hcl.Diagnostics {
	return readRCConfig(offlineConfig(step, config)).diags
}

func (c *rcConfig) secrets(rb *lang.Runbook) []string {
	if rb != nil {
		if b, ok := rb.PEPs[c.pepName]; ok {
			return []string{b.Password.Reveal()}
		}
	}
	return nil
}

// ResultKeys: a check leaves nothing for later plans.
func (ReadinessCheck) ResultKeys() []string { return nil }
