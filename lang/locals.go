package lang

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// Local is one named value of a locals block.
type Local struct {
	Name      string
	Expr      hcl.Expression
	DeclRange hcl.Range
}

func decodeLocals(block *hcl.Block) ([]*Local, hcl.Diagnostics) {
	attrs, diags := block.Body.JustAttributes()
	var ls []*Local
	for _, name := range sortedKeys(attrs) {
		a := attrs[name]
		ls = append(ls, &Local{Name: name, Expr: a.Expr, DeclRange: a.Range})
	}
	return ls, diags
}

// evalLocals evaluates the locals in dependency order; a cycle among them is
// an error naming every local in it.
func (rb *Runbook) evalLocals() hcl.Diagnostics {
	var diags hcl.Diagnostics
	rb.locVals = map[string]cty.Value{}
	const (
		unvisited = iota
		visiting
		done
	)
	state := map[string]int{}
	ctx := rb.evalContext(nil)
	var stack []string
	var visit func(name string)
	visit = func(name string) {
		switch state[name] {
		case done:
			return
		case visiting:
			i := 0
			for stack[i] != name {
				i++
			}
			cycle := append(append([]string{}, stack[i:]...), name)
			for j := range cycle {
				cycle[j] = "local." + cycle[j]
			}
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Cycle in local values",
				Detail:   fmt.Sprintf("The local values refer to each other in a cycle: %s. Break the cycle so that each value can be computed.", strings.Join(cycle, " → ")),
				Subject:  rb.Locals[name].Expr.Range().Ptr(),
			})
			rb.locVals[name] = cty.DynamicVal
			return
		}
		state[name] = visiting
		stack = append(stack, name)
		l := rb.Locals[name]
		// The local is evaluated with only the locals it refers to: an
		// object of every local computed so far, built for each, made
		// loading quadratic in the number of locals.
		refs := map[string]bool{}
		all := false
		for _, tr := range l.Expr.Variables() {
			if tr.RootName() != "local" {
				continue
			}
			ok := false
			if len(tr) > 1 {
				if a, isAttr := tr[1].(hcl.TraverseAttr); isAttr {
					if _, declared := rb.Locals[a.Name]; declared {
						visit(a.Name)
						refs[a.Name] = true
						ok = true
					}
				}
			}
			if !ok {
				all = true // local as a whole, or an undeclared name
			}
		}
		stack = stack[:len(stack)-1]
		if _, ok := rb.locVals[name]; !ok {
			scope := rb.locVals
			if !all {
				scope = make(map[string]cty.Value, len(refs))
				for r := range refs {
					if v, ok := rb.locVals[r]; ok {
						scope[r] = v
					}
				}
			}
			ctx.Variables["local"] = objectOrEmpty(scope)
			val, vdiags := l.Expr.Value(ctx)
			diags = append(diags, vdiags...)
			rb.locVals[name] = val
		}
		state[name] = done
	}
	for _, name := range sortedKeys(rb.Locals) {
		visit(name)
	}
	return diags
}
