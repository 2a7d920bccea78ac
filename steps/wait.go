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
	"github.com/zclconf/go-cty/cty"
)

// Wait is the wait step type: it waits for a duration on the clock, for
// example to let a resource provider settle after a rotation before the
// next step, as an operator would pause between cmdlets.
//
//	step "wait" "settle" {
//	  duration   = "15m"
//	  reason     = "let the resource provider settle"
//	  depends_on = [step.eventhub]
//	}
//
// It always runs (it has no state to read) and is safe to repeat. Its
// reason shows in the plan (text, JSON, Markdown) and in the journal's
// step_intent record: it is how a runbook names a manual task, such as
// rotating App Service's certificates in the admin portal, that the wait
// leaves time for.
type Wait struct{}

// NewWait returns the wait step type.
func NewWait() executor.StepType { return Wait{} }

var _ executor.StepType = Wait{}

var waitSpec = &hcldec.ObjectSpec{
	"duration": &hcldec.AttrSpec{Name: "duration", Type: cty.String, Required: true},
	"reason":   &hcldec.AttrSpec{Name: "reason", Type: cty.String},
}

var waitOutputs = cty.Object(map[string]cty.Type{"duration": cty.String})

// Name returns "wait".
func (Wait) Name() string { return "wait" }

// Schema is { duration (required), reason }.
func (Wait) Schema() hcldec.Spec { return waitSpec }

// Outputs is { duration }.
func (Wait) Outputs() cty.Type { return waitOutputs }

// ResultKeys is empty: a wait reports nothing for later plans.
func (Wait) ResultKeys() []string { return nil }

// Info: the expected duration is the wait itself.
func (Wait) Info(config cty.Value) executor.Info {
	d, _ := waitDuration(config)
	return executor.Info{ExpectedDuration: d, Timeout: d + time.Minute, RepeatSafe: true}
}

func waitDuration(config cty.Value) (time.Duration, error) {
	if !config.Type().IsObjectType() {
		return 0, fmt.Errorf("no configuration")
	}
	v, _ := config.GetAttr("duration").Unmark()
	if v.IsNull() || !v.IsKnown() {
		return 0, fmt.Errorf("duration is not known")
	}
	d, err := lang.ParseDuration(v.AsString())
	if err == nil && d <= 0 {
		err = fmt.Errorf("%q is not a positive duration", v.AsString())
	}
	return d, err
}

// Plan proposes to wait.
func (Wait) Plan(ctx context.Context, req *executor.PlanRequest) *executor.PlanResponse {
	d, err := waitDuration(req.Config)
	if err != nil {
		// No Subject: the executor points the diagnostic at the step.
		return &executor.PlanResponse{Diagnostics: hcl.Diagnostics{{
			Severity: hcl.DiagError, Summary: "Invalid wait duration",
			Detail: err.Error() + `; write it like "15m" or "1h30m".`,
		}}}
	}
	out := cty.ObjectVal(map[string]cty.Value{"duration": cty.StringVal(d.String())})
	return &executor.PlanResponse{
		Action: plan.Run, Summary: "wait " + d.String(), Reason: waitReason(req.Config),
		Before: cty.NullVal(waitOutputs), After: out, Outputs: out, ExpectedDuration: d,
	}
}

// waitReason returns the configured reason, or "".
func waitReason(config cty.Value) string {
	if !config.Type().IsObjectType() || !config.Type().HasAttribute("reason") {
		return ""
	}
	v := config.GetAttr("reason")
	if v.HasMark(lang.Sensitive) {
		return "(sensitive value)"
	}
	v, _ = v.Unmark()
	if v.IsNull() || !v.IsKnown() {
		return ""
	}
	return v.AsString()
}

// Apply waits on the request's clock.
func (Wait) Apply(ctx context.Context, req *executor.ApplyRequest) *executor.ApplyResponse {
	d, err := waitDuration(req.Config)
	if err != nil {
		return &executor.ApplyResponse{Err: err}
	}
	if err := req.Clock.Sleep(ctx, d); err != nil {
		return &executor.ApplyResponse{Err: err}
	}
	return &executor.ApplyResponse{Outputs: cty.ObjectVal(map[string]cty.Value{"duration": cty.StringVal(d.String())})}
}

// Resume waits again: a wait is safe to repeat.
func (w Wait) Resume(ctx context.Context, req *executor.ResumeRequest) *executor.ApplyResponse {
	return w.Apply(ctx, &req.ApplyRequest)
}
