package lang

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/runbook-dev/runbook/addrs"
)

// Step is a step block: `step "TYPE" "NAME" { ... }`. lang decodes the
// attributes every step has; the rest of the body belongs to the step type.
type Step struct {
	Type string
	Name string
	// DependsOn are the explicit dependencies, in the order written.
	DependsOn []StepRef
	// References are the implicit dependencies: steps whose outputs this
	// step's body or conditions refer to, sorted by name, one per step.
	References []StepRef
	// Timeout bounds one attempt of the step; zero means the step type's
	// default.
	Timeout time.Duration
	// ExpectedDuration is how long the step is expected to take, for window
	// fitting; zero means the step type's default.
	ExpectedDuration time.Duration
	Retry            *Retry
	Preconditions    []*Condition
	Postconditions   []*Condition
	// Body is the rest of the block, for the step type's own schema.
	Body hcl.Body

	DeclRange hcl.Range
	TypeRange hcl.Range

	timeoutAttr, expectedAttr *hcl.Attribute
	retryBlock                *hcl.Block
}

// Address is the step's address, step.NAME.
func (s *Step) Address() addrs.Step { return addrs.StepOf(s.Name) }

// StepRef is a reference to a step and where it was written.
type StepRef struct {
	Name  string
	Range hcl.Range
}

// Retry is a step's retry block.
type Retry struct {
	// Attempts is the total number of attempts, at least 1.
	Attempts int
	// Delay is the wait before the second attempt.
	Delay time.Duration
	// Backoff is constant, linear or exponential: how the delay grows.
	Backoff string
	// MaxDelay caps the delay; zero means no cap.
	MaxDelay  time.Duration
	DeclRange hcl.Range
}

// BackoffModes are the accepted values of retry.backoff.
var BackoffModes = []string{"constant", "linear", "exponential"}

// DelayBefore returns the wait before attempt n (2 for the first retry).
func (r *Retry) DelayBefore(n int) time.Duration {
	if n < 2 {
		return 0
	}
	k := n - 1
	d := r.Delay
	switch r.Backoff {
	case "linear":
		d = r.Delay * time.Duration(k)
	case "exponential":
		for i := 1; i < k; i++ {
			d *= 2
			if r.MaxDelay > 0 && d > r.MaxDelay {
				break
			}
		}
	}
	if r.MaxDelay > 0 && d > r.MaxDelay {
		d = r.MaxDelay
	}
	return d
}

// CommonStepAttributes are the attributes and blocks every step has; a step
// type's schema must not use these names.
var stepCommonSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "depends_on"}, {Name: "timeout"}, {Name: "expected_duration"},
	},
	Blocks: []hcl.BlockHeaderSchema{{Type: "retry"}, {Type: "precondition"}, {Type: "postcondition"}},
}

var retrySchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "attempts", Required: true}, {Name: "delay"}, {Name: "backoff"}, {Name: "max_delay"},
	},
}

func decodeStep(block *hcl.Block, known []string) (*Step, hcl.Diagnostics) {
	s := &Step{
		Type:      block.Labels[0],
		Name:      block.Labels[1],
		DeclRange: block.DefRange,
		TypeRange: block.LabelRanges[0],
	}
	var diags hcl.Diagnostics
	if known != nil && !contains(known, s.Type) {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Unknown step type",
			Detail:   fmt.Sprintf("There is no step type %q. The known step types are %s.%s", s.Type, strings.Join(known, ", "), didYouMean(s.Type, known)),
			Subject:  s.TypeRange.Ptr(),
		})
	}
	content, remain, cdiags := block.Body.PartialContent(stepCommonSchema)
	diags = append(diags, cdiags...)
	s.Body = remain
	if a, ok := content.Attributes["depends_on"]; ok {
		diags = append(diags, s.decodeDependsOn(a)...)
	}
	s.timeoutAttr = content.Attributes["timeout"]
	s.expectedAttr = content.Attributes["expected_duration"]
	for _, b := range content.Blocks {
		switch b.Type {
		case "retry":
			if s.retryBlock != nil {
				diags = append(diags, duplicate("retry block", "", s.retryBlock.DefRange, b.DefRange))
				continue
			}
			s.retryBlock = b
		case "precondition", "postcondition":
			c, cdiags := decodeConditionBlock(b)
			diags = append(diags, cdiags...)
			if c == nil {
				continue
			}
			if b.Type == "precondition" {
				s.Preconditions = append(s.Preconditions, c)
			} else {
				s.Postconditions = append(s.Postconditions, c)
			}
		}
	}
	return s, diags
}

func (s *Step) decodeDependsOn(a *hcl.Attribute) hcl.Diagnostics {
	exprs, diags := hcl.ExprList(a.Expr)
	for _, e := range exprs {
		tr, tdiags := hcl.AbsTraversalForExpr(e)
		if tdiags.HasErrors() || tr.RootName() != "step" || len(tr) != 2 {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid depends_on reference",
				Detail:   "depends_on lists steps by address, such as [step.eventhub_cert]; it cannot hold strings, expressions or attributes of steps.",
				Subject:  e.Range().Ptr(),
			})
			continue
		}
		attr, ok := tr[1].(hcl.TraverseAttr)
		if !ok {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError, Summary: "Invalid depends_on reference",
				Detail: "depends_on lists steps by address, such as [step.eventhub_cert].", Subject: e.Range().Ptr(),
			})
			continue
		}
		s.DependsOn = append(s.DependsOn, StepRef{Name: attr.Name, Range: e.Range()})
	}
	return diags
}

// evalSteps evaluates the common attributes that may use variables, and
// collects implicit step references.
func (rb *Runbook) evalSteps() hcl.Diagnostics {
	var diags hcl.Diagnostics
	ctx := rb.evalContext(nil)
	for _, name := range sortedKeys(rb.Steps) {
		s := rb.Steps[name]
		if d, ok, ddiags := evalDuration(ctx, s.timeoutAttr); ok {
			s.Timeout = d
		} else {
			diags = append(diags, ddiags...)
		}
		if d, ok, ddiags := evalDuration(ctx, s.expectedAttr); ok {
			s.ExpectedDuration = d
		} else {
			diags = append(diags, ddiags...)
		}
		if s.retryBlock != nil {
			diags = append(diags, s.evalRetry(ctx)...)
		}
		s.References = stepReferences(s)
	}
	return diags
}

func (s *Step) evalRetry(ctx *hcl.EvalContext) hcl.Diagnostics {
	content, diags := s.retryBlock.Body.Content(retrySchema)
	if diags.HasErrors() {
		return diags
	}
	r := &Retry{Attempts: 1, Backoff: "constant", DeclRange: s.retryBlock.DefRange}
	at := attrEvaluator{ctx: ctx}
	if n, ok := at.number(content.Attributes["attempts"]); ok {
		if n < 1 || n > 100 {
			at.diags = append(at.diags, &hcl.Diagnostic{
				Severity: hcl.DiagError, Summary: "Invalid retry attempts",
				Detail:  fmt.Sprintf("attempts is the total number of tries, from 1 to 100; got %d.", n),
				Subject: content.Attributes["attempts"].Expr.Range().Ptr(),
			})
		}
		r.Attempts = n
	}
	for name, dst := range map[string]*time.Duration{"delay": &r.Delay, "max_delay": &r.MaxDelay} {
		if d, ok, ddiags := evalDuration(ctx, content.Attributes[name]); ok {
			*dst = d
		} else {
			at.diags = append(at.diags, ddiags...)
		}
	}
	if a := content.Attributes["backoff"]; a != nil && at.known(a) {
		r.Backoff = at.str(a)
		if !contains(BackoffModes, r.Backoff) {
			at.diags = append(at.diags, &hcl.Diagnostic{
				Severity: hcl.DiagError, Summary: "Unknown backoff",
				Detail:  fmt.Sprintf("%q is not a backoff; use one of %s.%s", r.Backoff, strings.Join(BackoffModes, ", "), didYouMean(r.Backoff, BackoffModes)),
				Subject: a.Expr.Range().Ptr(),
			})
		}
	}
	s.Retry = r
	return append(diags, at.diags...)
}

// stepReferences returns the steps that s's body and conditions refer to,
// one entry per step (the first reference), sorted by name.
func stepReferences(s *Step) []StepRef {
	first := map[string]hcl.Range{}
	add := func(trs []hcl.Traversal) {
		for _, tr := range trs {
			if tr.RootName() != "step" || len(tr) < 2 {
				continue
			}
			attr, ok := tr[1].(hcl.TraverseAttr)
			if !ok || attr.Name == s.Name {
				continue
			}
			if _, seen := first[attr.Name]; !seen {
				first[attr.Name] = tr.SourceRange()
			}
		}
	}
	for _, e := range bodyExpressions(s.Body, "depends_on") {
		add(e.Variables())
	}
	for _, c := range append(append([]*Condition{}, s.Preconditions...), s.Postconditions...) {
		add(c.Condition.Variables())
		add(c.ErrorMessage.Variables())
	}
	refs := make([]StepRef, 0, len(first))
	for name, r := range first {
		refs = append(refs, StepRef{Name: name, Range: r})
	}
	sort.Slice(refs, func(i, j int) bool { return refs[i].Name < refs[j].Name })
	return refs
}

// bodyExpressions returns every expression in a native-syntax body,
// including nested blocks, in source order, except the top-level attributes
// named in skip. Bodies of other syntaxes have none that lang can see.
func bodyExpressions(body hcl.Body, skip ...string) []hcl.Expression {
	var out []hcl.Expression
	var walk func(b *hclsyntax.Body, top bool)
	walk = func(b *hclsyntax.Body, top bool) {
		names := make([]string, 0, len(b.Attributes))
		for n := range b.Attributes {
			if top && contains(skip, n) {
				continue
			}
			names = append(names, n)
		}
		sort.Slice(names, func(i, j int) bool {
			return b.Attributes[names[i]].SrcRange.Start.Byte < b.Attributes[names[j]].SrcRange.Start.Byte
		})
		for _, n := range names {
			out = append(out, b.Attributes[n].Expr)
		}
		for _, blk := range b.Blocks {
			if top && (blk.Type == "precondition" || blk.Type == "postcondition") {
				continue // checked with their own scope
			}
			walk(blk.Body, false)
		}
	}
	if sb, ok := body.(*hclsyntax.Body); ok {
		walk(sb, true)
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
