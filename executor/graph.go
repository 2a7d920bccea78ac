package executor

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/runbook-dev/runbook/addrs"
	"github.com/runbook-dev/runbook/executor/dag"
	"github.com/runbook-dev/runbook/lang"
	"github.com/zclconf/go-cty/cty"
)

// Graph builds the step DAG of rb: an edge for every depends_on entry and
// for every reference to step.x in a step's body or conditions. It does not
// validate it; call Validate on the result.
func Graph(rb *lang.Runbook) *dag.Graph {
	g := dag.New()
	names := rb.StepNames()
	for _, name := range names {
		g.Add(addrs.StepOf(name).String())
	}
	for _, name := range names {
		s := rb.Steps[name]
		for _, d := range s.DependsOn {
			if _, ok := rb.Steps[d.Name]; ok {
				g.Connect(s.Address().String(), addrs.StepOf(d.Name).String(), d.Range)
			}
		}
		for _, r := range s.References {
			if _, ok := rb.Steps[r.Name]; ok {
				g.Connect(s.Address().String(), addrs.StepOf(r.Name).String(), r.Range)
			}
		}
	}
	return g
}

// Validate checks what can be checked without contacting a stamp beyond
// lang's own checks: each step's body against its type's schema, and that
// the step graph has no cycle. It returns the graph for callers that go on.
//
// Every step evaluates as an unknown value of its type's outputs type, so
// that expressions referring to step outputs (in step bodies, conditions
// and policies) are type-checked: a misspelt attribute is an error here,
// not after a four-hour rotation.
func Validate(rb *lang.Runbook, reg *Registry) (*dag.Graph, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	unknown := map[string]cty.Value{}
	for _, name := range rb.StepNames() {
		if t, ok := reg.Get(rb.Steps[name].Type); ok {
			unknown[name] = cty.UnknownVal(t.Outputs())
		}
	}
	ctx := rb.EvalContext(unknown, cty.NilVal)
	for _, name := range rb.StepNames() {
		s := rb.Steps[name]
		t, ok := reg.Get(s.Type)
		if !ok {
			continue // lang reported it
		}
		config, ddiags := DecodeStep(s, t, ctx)
		diags = append(diags, ddiags...)
		if v, ok := t.(ConfigValidator); ok && !ddiags.HasErrors() {
			diags = append(diags, v.ValidateConfig(rb, s, config)...)
		}
		for _, c := range s.Preconditions {
			diags = append(diags, conditionErrors(ctx, c)...)
		}
		self := ctx.NewChild()
		self.Variables = map[string]cty.Value{"self": unknown[name]}
		for _, c := range s.Postconditions {
			diags = append(diags, conditionErrors(self, c)...)
		}
	}
	for _, name := range sortedNames(rb.Policies) {
		if p := rb.Policies[name]; p.Condition.Condition != nil {
			diags = append(diags, conditionErrors(ctx, &p.Condition)...)
		}
	}
	g := Graph(rb)
	diags = append(diags, g.Validate()...)
	return g, diags
}

// conditionErrors evaluates a condition only for the errors it has (a
// misspelt attribute, a type that cannot be a bool); its outcome waits for
// plan or apply.
func conditionErrors(ctx *hcl.EvalContext, c *lang.Condition) hcl.Diagnostics {
	res, _, diags := lang.EvalCondition(ctx, c.Condition, c.ErrorMessage)
	if res == lang.CheckError {
		return diags
	}
	return nil
}

// DecodeStep decodes a step's body with its type's schema. Sensitive marks
// are kept.
func DecodeStep(s *lang.Step, t StepType, ctx *hcl.EvalContext) (cty.Value, hcl.Diagnostics) {
	val, diags := hcldec.Decode(s.Body, t.Schema(), ctx)
	for _, d := range diags {
		if d.Subject == nil {
			d.Subject = s.DeclRange.Ptr()
		}
	}
	if diags.HasErrors() {
		return val, diags
	}
	if !val.Type().IsObjectType() {
		panic(fmt.Sprintf("executor: step type %s's schema does not decode to an object", t.Name()))
	}
	return val, diags
}
