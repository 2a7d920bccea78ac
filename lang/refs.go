package lang

import (
	"fmt"
	"strings"

	"github.com/agext/levenshtein"
	"github.com/hashicorp/hcl/v2"
	"github.com/runbook-dev/runbook/addrs"
)

// refScope says which roots an expression may refer to.
type refScope struct {
	what  string // "a variable validation", "a local value", ...
	steps bool   // step.* allowed
	self  bool   // self allowed
	// own is the step whose body or precondition this is: it has no
	// outputs before it runs, so step.<own> is refused there.
	own string
}

var refRoots = []string{"var", "local", "hub", "pep", "step"}

// checkReferences reports every reference to something undeclared, and
// references that a block of that kind may not make.
func (rb *Runbook) checkReferences() hcl.Diagnostics {
	var diags hcl.Diagnostics
	check := func(e hcl.Expression, scope refScope) {
		for _, tr := range e.Variables() {
			diags = append(diags, rb.checkTraversal(tr, scope)...)
		}
	}
	for _, name := range sortedKeys(rb.Variables) {
		for _, v := range rb.Variables[name].Validations {
			check(v.Condition, refScope{what: "a variable validation"})
			check(v.ErrorMessage, refScope{what: "a variable validation"})
		}
	}
	for _, name := range sortedKeys(rb.Locals) {
		check(rb.Locals[name].Expr, refScope{what: "a local value"})
	}
	for _, name := range sortedKeys(rb.Hubs) {
		for _, e := range bodyExpressions(rb.Hubs[name].body) {
			check(e, refScope{what: "a hub block"})
		}
	}
	for _, name := range sortedKeys(rb.PEPs) {
		for _, e := range bodyExpressions(rb.PEPs[name].body) {
			check(e, refScope{what: "a pep block"})
		}
	}
	for _, name := range sortedKeys(rb.Windows) {
		for _, e := range bodyExpressions(rb.Windows[name].body) {
			check(e, refScope{what: "a window block"})
		}
	}
	for _, name := range sortedKeys(rb.Policies) {
		p := rb.Policies[name]
		if p.Condition.Condition == nil {
			continue
		}
		check(p.Condition.Condition, refScope{what: "a policy", steps: true})
		check(p.ErrorMessage, refScope{what: "a policy", steps: true})
	}
	for _, name := range sortedKeys(rb.Steps) {
		s := rb.Steps[name]
		for _, d := range s.DependsOn {
			if _, ok := rb.Steps[d.Name]; !ok {
				diags = append(diags, undeclared("step", d.Name, d.Range, sortedKeys(rb.Steps)))
			}
		}
		for _, e := range bodyExpressions(s.Body, "depends_on") {
			check(e, refScope{what: "a step", steps: true, own: name})
		}
		for _, c := range s.Preconditions {
			check(c.Condition, refScope{what: "a precondition", steps: true, own: name})
			check(c.ErrorMessage, refScope{what: "a precondition", steps: true, own: name})
		}
		for _, c := range s.Postconditions {
			check(c.Condition, refScope{what: "a postcondition", steps: true, self: true})
			check(c.ErrorMessage, refScope{what: "a postcondition", steps: true, self: true})
		}
	}
	return diags
}

func (rb *Runbook) checkTraversal(tr hcl.Traversal, scope refScope) hcl.Diagnostics {
	root := tr.RootName()
	rng := tr.SourceRange()
	if root == "self" {
		if scope.self {
			return nil
		}
		return hcl.Diagnostics{{
			Severity: hcl.DiagError, Summary: "Invalid reference to self",
			Detail:  "self refers to a step's own outputs and is only available in its postcondition blocks.",
			Subject: rng.Ptr(),
		}}
	}
	if !contains(refRoots, root) {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Unknown reference",
			Detail:   fmt.Sprintf("There is nothing called %q. References start with one of %s.%s", root, strings.Join(refRoots, ", "), didYouMean(root, refRoots)),
			Subject:  tr[0].SourceRange().Ptr(),
		}}
	}
	if len(tr) < 2 {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError, Summary: "Invalid reference",
			Detail:  fmt.Sprintf("%q must be followed by a name, such as %s.name.", root, root),
			Subject: rng.Ptr(),
		}}
	}
	attr, ok := tr[1].(hcl.TraverseAttr)
	if !ok {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError, Summary: "Invalid reference",
			Detail:  fmt.Sprintf("%q must be followed by a name with a dot, such as %s.name.", root, root),
			Subject: tr[1].SourceRange().Ptr(),
		}}
	}
	// A map lookup, not a sorted list of every name: a runbook of many
	// locals has many references, and the names are only needed for the
	// error.
	var declared bool
	var names func() []string
	switch root {
	case "var":
		_, declared = rb.Variables[attr.Name]
		names = func() []string { return sortedKeys(rb.Variables) }
	case "local":
		_, declared = rb.Locals[attr.Name]
		names = func() []string { return sortedKeys(rb.Locals) }
	case "hub":
		_, declared = rb.Hubs[attr.Name]
		names = func() []string { return sortedKeys(rb.Hubs) }
	case "pep":
		_, declared = rb.PEPs[attr.Name]
		names = func() []string { return sortedKeys(rb.PEPs) }
	case "step":
		if !scope.steps {
			return hcl.Diagnostics{{
				Severity: hcl.DiagError, Summary: "Invalid reference to a step",
				Detail:  fmt.Sprintf("%s is evaluated before any step runs, so it cannot refer to %s.", capitalize(scope.what), addrs.StepOf(attr.Name)),
				Subject: rng.Ptr(),
			}}
		}
		if attr.Name == scope.own {
			self := "self"
			if len(tr) > 2 {
				if a, ok := tr[2].(hcl.TraverseAttr); ok {
					self += "." + a.Name
				}
			}
			return hcl.Diagnostics{{
				Severity: hcl.DiagError, Summary: "Step refers to itself",
				Detail: fmt.Sprintf("step.%s is the step this is written in, whose outputs exist only after it has run. Its postcondition blocks can check them as %s.",
					attr.Name, self),
				Subject: rng.Ptr(),
			}}
		}
		_, declared = rb.Steps[attr.Name]
		names = func() []string { return sortedKeys(rb.Steps) }
	}
	if declared || names == nil {
		return nil
	}
	return hcl.Diagnostics{undeclared(root, attr.Name, hcl.RangeBetween(tr[0].SourceRange(), tr[1].SourceRange()), names())}
}

func undeclared(root, name string, rng hcl.Range, names []string) *hcl.Diagnostic {
	kind := map[string]string{"var": "variable", "local": "local value", "hub": "hub", "pep": "pep", "step": "step"}[root]
	decl := map[string]string{
		"var":   fmt.Sprintf(`variable %q { ... }`, name),
		"local": fmt.Sprintf(`locals { %s = ... }`, name),
		"hub":   fmt.Sprintf(`hub %q { ... }`, name),
		"pep":   fmt.Sprintf(`pep %q { ... }`, name),
		"step":  fmt.Sprintf(`step "TYPE" %q { ... }`, name),
	}[root]
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Reference to undeclared " + kind,
		Detail:   fmt.Sprintf("No %s %q is declared in this runbook.%s Declare it with %s.", kind, name, didYouMean(name, names), decl),
		Subject:  rng.Ptr(),
	}
}

// didYouMean returns " Did you mean "x"?" for the closest of names to s, or
// "" when none is close.
func didYouMean(s string, names []string) string { return DidYouMean(s, names) }

// DidYouMean returns " Did you mean "x"?" for the closest of names to s
// (at most two edits away), or "" when none is close: the suggestion of
// runbook's diagnostics, and of the CLI for mistyped commands and flags.
func DidYouMean(s string, names []string) string {
	best, bestDist := "", 3
	for _, n := range names {
		if d := levenshtein.Distance(s, n, nil); d < bestDist {
			best, bestDist = n, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" Did you mean %q?", best)
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
