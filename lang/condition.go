package lang

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// Condition is a condition block: a validation rule, a policy, or a step's
// precondition or postcondition.
type Condition struct {
	Condition    hcl.Expression
	ErrorMessage hcl.Expression
	DeclRange    hcl.Range
}

// CheckResult is the outcome of evaluating a condition.
type CheckResult int

const (
	// CheckPassed means the condition held.
	CheckPassed CheckResult = iota
	// CheckFailed means the condition was false.
	CheckFailed
	// CheckUnknown means the condition depends on a value that is not known
	// yet (for example an output of a step that has not run); the check is
	// deferred.
	CheckUnknown
	// CheckError means the condition could not be evaluated; the diagnostics
	// say why.
	CheckError
)

func (r CheckResult) String() string {
	switch r {
	case CheckPassed:
		return "passed"
	case CheckFailed:
		return "failed"
	case CheckUnknown:
		return "deferred"
	}
	return "error"
}

// EvalCondition evaluates a condition and, when it is false, its error
// message. A message derived from a sensitive value is withheld.
func EvalCondition(ctx *hcl.EvalContext, cond, errMsg hcl.Expression) (CheckResult, string, hcl.Diagnostics) {
	val, diags := cond.Value(ctx)
	if diags.HasErrors() {
		return CheckError, "", diags
	}
	if !val.IsWhollyKnown() {
		// An unknown value whose type can never become a bool (a list, a
		// number) is wrong already; an unknown string may yet be "true".
		if ty := val.Type(); ty != cty.DynamicPseudoType && !ty.Equals(cty.Bool) && convert.GetConversionUnsafe(ty, cty.Bool) == nil {
			return CheckError, "", append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid condition result",
				Detail:   fmt.Sprintf("The condition must be true or false, but it is a %s.", ty.FriendlyName()),
				Subject:  cond.Range().Ptr(),
			})
		}
		return CheckUnknown, "", diags
	}
	val, _ = val.Unmark()
	if val.IsNull() {
		return CheckError, "", append(diags, &hcl.Diagnostic{
			Severity:    hcl.DiagError,
			Summary:     "Invalid condition result",
			Detail:      "The condition evaluated to null; it must be true or false.",
			Subject:     cond.Range().Ptr(),
			Expression:  cond,
			EvalContext: ctx,
		})
	}
	b, err := convert.Convert(val, cty.Bool)
	if err != nil {
		return CheckError, "", append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid condition result",
			Detail:   fmt.Sprintf("The condition must be true or false: %s.", err),
			Subject:  cond.Range().Ptr(),
		})
	}
	if b.True() {
		return CheckPassed, "", diags
	}
	return CheckFailed, conditionMessage(ctx, errMsg), diags
}

func conditionMessage(ctx *hcl.EvalContext, errMsg hcl.Expression) string {
	msg, diags := errMsg.Value(ctx)
	if diags.HasErrors() || !msg.IsWhollyKnown() {
		return "(the error message could not be evaluated)"
	}
	if msg.IsMarked() {
		return "(the error message refers to a sensitive value, so it is not shown)"
	}
	s, err := convert.Convert(msg, cty.String)
	if err != nil || s.IsNull() {
		return "(the error message is not a string)"
	}
	return s.AsString()
}

// checkCondition evaluates a condition and turns a failure into an error
// diagnostic with the given summary.
func checkCondition(ctx *hcl.EvalContext, cond, errMsg hcl.Expression, summary, what string, subject *hcl.Range) hcl.Diagnostics {
	res, msg, diags := EvalCondition(ctx, cond, errMsg)
	if res != CheckFailed {
		return diags
	}
	return append(diags, &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  summary,
		Detail:   fmt.Sprintf("%s\n\nThis was checked by %s.", msg, what),
		Subject:  subject,
	})
}

func decodeConditionBlock(b *hcl.Block) (*Condition, hcl.Diagnostics) {
	bc, diags := b.Body.Content(conditionSchema)
	if diags.HasErrors() {
		return nil, diags
	}
	return &Condition{
		Condition:    bc.Attributes["condition"].Expr,
		ErrorMessage: bc.Attributes["error_message"].Expr,
		DeclRange:    b.DefRange,
	}, diags
}

// checkConditions evaluates the policies and the steps' preconditions and
// postconditions as far as they are known at load time, so that a
// condition that can never be true or false (a string, a number, null) or
// that cannot be evaluated is an error of `runbook validate`, not a
// surprise at plan or, for a postcondition, after the step has acted.
// Step outputs and self are unknown here, so conditions on them are left
// to the executor; so is the outcome of a condition: whether a policy
// holds is the plan's business.
func (rb *Runbook) checkConditions() hcl.Diagnostics {
	var diags hcl.Diagnostics
	ctx := rb.EvalContext(nil, cty.DynamicVal)
	check := func(c *Condition) {
		if c == nil || c.Condition == nil {
			return
		}
		if res, _, cdiags := EvalCondition(ctx, c.Condition, c.ErrorMessage); res == CheckError {
			diags = append(diags, cdiags...)
		}
	}
	for _, name := range sortedKeys(rb.Policies) {
		check(&rb.Policies[name].Condition)
	}
	for _, name := range sortedKeys(rb.Steps) {
		s := rb.Steps[name]
		for _, c := range s.Preconditions {
			check(c)
		}
		for _, c := range s.Postconditions {
			check(c)
		}
	}
	return diags
}
