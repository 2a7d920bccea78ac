// Package steptest provides a test double for executor.StepType: a step
// type whose behaviour is given by function fields, with a call log.
package steptest

import (
	"context"
	"sync"
	"time"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/runbook-dev/runbook/executor"
	"github.com/runbook-dev/runbook/executor/plan"
	"github.com/zclconf/go-cty/cty"
)

// Type is a configurable step type for tests. Its body schema is
// { value = string (optional), sleep = string duration (optional),
// secret = string (optional, sensitive by convention) } unless SchemaSpec is
// set; its outputs are { value = string }.
type Type struct {
	// TypeName is the type label; "test" when empty.
	TypeName string
	// SchemaSpec overrides the default body schema.
	SchemaSpec hcldec.Spec
	// OutputType overrides the default outputs type.
	OutputType cty.Type
	// InfoValue is returned by Info.
	InfoValue executor.Info
	// Keys is returned by ResultKeys: the result keys journalled.
	Keys []string

	PlanFn   func(ctx context.Context, req *executor.PlanRequest) *executor.PlanResponse
	ApplyFn  func(ctx context.Context, req *executor.ApplyRequest) *executor.ApplyResponse
	ResumeFn func(ctx context.Context, req *executor.ResumeRequest) *executor.ApplyResponse

	mu    sync.Mutex
	calls []Call
}

// Call is one recorded call.
type Call struct {
	Method  string // Plan, Apply or Resume
	Address string
	Attempt int
}

var _ executor.StepType = (*Type)(nil)

// DefaultSchema is the body schema of a Type without SchemaSpec.
var DefaultSchema = &hcldec.ObjectSpec{
	"value":  &hcldec.AttrSpec{Name: "value", Type: cty.String},
	"sleep":  &hcldec.AttrSpec{Name: "sleep", Type: cty.String},
	"secret": &hcldec.AttrSpec{Name: "secret", Type: cty.String},
}

// Name returns TypeName or "test".
func (t *Type) Name() string {
	if t.TypeName == "" {
		return "test"
	}
	return t.TypeName
}

// Schema returns SchemaSpec or DefaultSchema.
func (t *Type) Schema() hcldec.Spec {
	if t.SchemaSpec != nil {
		return t.SchemaSpec
	}
	return DefaultSchema
}

// Outputs returns OutputType or { value = string }.
func (t *Type) Outputs() cty.Type {
	if t.OutputType != cty.NilType {
		return t.OutputType
	}
	return cty.Object(map[string]cty.Type{"value": cty.String})
}

// ResultKeys returns Keys.
func (t *Type) ResultKeys() []string { return t.Keys }

// Info returns InfoValue, with one minute of expected duration by default.
func (t *Type) Info(cty.Value) executor.Info {
	i := t.InfoValue
	if i.ExpectedDuration == 0 {
		i.ExpectedDuration = time.Minute
	}
	return i
}

// Plan calls PlanFn, or proposes to run with After = Config.
func (t *Type) Plan(ctx context.Context, req *executor.PlanRequest) *executor.PlanResponse {
	t.record(Call{Method: "Plan", Address: req.Address.String()})
	if t.PlanFn != nil {
		return t.PlanFn(ctx, req)
	}
	return &executor.PlanResponse{
		Action:  plan.Run,
		Summary: "run",
		Before:  cty.NullVal(req.Config.Type()),
		After:   req.Config,
		Outputs: cty.ObjectVal(map[string]cty.Value{"value": cty.UnknownVal(cty.String)}),
	}
}

// Apply calls ApplyFn, or succeeds with outputs { value = config.value }.
func (t *Type) Apply(ctx context.Context, req *executor.ApplyRequest) *executor.ApplyResponse {
	t.record(Call{Method: "Apply", Address: req.Address.String(), Attempt: req.Attempt})
	if t.ApplyFn != nil {
		return t.ApplyFn(ctx, req)
	}
	v := cty.StringVal("")
	if req.Config.Type().IsObjectType() && req.Config.Type().HasAttribute("value") {
		if cv := req.Config.GetAttr("value"); !cv.IsNull() && cv.IsKnown() {
			v, _ = cv.Unmark()
		}
	}
	return &executor.ApplyResponse{Outputs: cty.ObjectVal(map[string]cty.Value{"value": v})}
}

// Resume calls ResumeFn, or Apply.
func (t *Type) Resume(ctx context.Context, req *executor.ResumeRequest) *executor.ApplyResponse {
	t.record(Call{Method: "Resume", Address: req.Address.String(), Attempt: req.Attempt})
	if t.ResumeFn != nil {
		return t.ResumeFn(ctx, req)
	}
	return t.Apply(ctx, &req.ApplyRequest)
}

func (t *Type) record(c Call) {
	t.mu.Lock()
	t.calls = append(t.calls, c)
	t.mu.Unlock()
}

// Calls returns the calls made so far, in order.
func (t *Type) Calls() []Call {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]Call(nil), t.calls...)
}

// Count returns how many calls of method were made for address ("" for
// any).
func (t *Type) Count(method, address string) int {
	n := 0
	for _, c := range t.Calls() {
		if c.Method == method && (address == "" || c.Address == address) {
			n++
		}
	}
	return n
}
