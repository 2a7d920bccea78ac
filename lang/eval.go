package lang

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// EvalContext returns the evaluation context for step bodies, policies and
// conditions: var.*, local.*, hub.*, pep.*, step.* and the functions. steps
// holds the values known for steps (their outputs, as the executor computed
// them); a step without an entry evaluates as unknown. self, if not
// cty.NilVal, is the value of `self` (a step's own outputs in its
// postconditions).
func (rb *Runbook) EvalContext(steps map[string]cty.Value, self cty.Value) *hcl.EvalContext {
	ctx := rb.evalContext(steps)
	stepVals := make(map[string]cty.Value, len(rb.Steps))
	for name := range rb.Steps {
		if v, ok := steps[name]; ok {
			stepVals[name] = v
		} else {
			stepVals[name] = cty.DynamicVal
		}
	}
	ctx.Variables["step"] = objectOrEmpty(stepVals)
	if self != cty.NilVal {
		ctx.Variables["self"] = self
	}
	return ctx
}

// evalContext is the context of everything evaluated at load time: no step
// has a value yet, and checkReferences has already refused references to
// steps where they are not allowed.
func (rb *Runbook) evalContext(_ map[string]cty.Value) *hcl.EvalContext {
	vars := map[string]cty.Value{
		"var":   objectOrEmpty(rb.varVals),
		"local": objectOrEmpty(rb.locVals),
	}
	hubs := map[string]cty.Value{}
	for name, h := range rb.Hubs {
		hubs[name] = h.Value()
	}
	peps := map[string]cty.Value{}
	for name, p := range rb.PEPs {
		peps[name] = p.Value()
	}
	vars["hub"] = objectOrEmpty(hubs)
	vars["pep"] = objectOrEmpty(peps)
	return &hcl.EvalContext{Variables: vars, Functions: rb.funcs}
}

func objectOrEmpty(m map[string]cty.Value) cty.Value {
	if len(m) == 0 {
		return cty.EmptyObjectVal
	}
	return cty.ObjectVal(m)
}
