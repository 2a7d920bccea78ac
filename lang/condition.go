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
