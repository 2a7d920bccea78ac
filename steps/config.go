package steps

import (
	"context"
	"crypto/x509"
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/runbook-dev/runbook/hub"
	"github.com/runbook-dev/runbook/lang"
	"github.com/runbook-dev/runbook/pep"
	"github.com/zclconf/go-cty/cty"
)

// stepConfig reads the decoded body of a step, reporting problems as
// diagnostics on the attribute at fault.
type stepConfig struct {
	val   cty.Value
	body  hcl.Body // for attribute ranges; nil when there is no step
	decl  hcl.Range
	diags hcl.Diagnostics
	// offline is set for validate, where values from unset variables and
	// env() are unknown: an unknown value is then skipped, not an error.
	offline bool
}

// newStepConfig reads config, the decoded body of step.
func newStepConfig(step *lang.Step, config cty.Value) *stepConfig {
	s := &stepConfig{val: config}
	if step != nil {
		s.body, s.decl = step.Body, step.DeclRange
	}
	return s
}

// rng returns the range of attribute name's expression, or the step's
// when the body does not set it.
func (s *stepConfig) rng(name string) hcl.Range {
	if s.body == nil {
		return s.decl
	}
	r := hcldec.SourceRange(s.body, &hcldec.AttrSpec{Name: name, Type: cty.DynamicPseudoType})
	if r == s.body.MissingItemRange() {
		return s.decl
	}
	return r
}

func (s *stepConfig) errorf(name, summary, format string, args ...any) {
	s.diags = append(s.diags, &hcl.Diagnostic{
		Severity: hcl.DiagError, Summary: summary, Detail: fmt.Sprintf(format, args...), Subject: s.rng(name).Ptr(),
	})
}

// openPEP opens a session on the step's pep block name for planning; a
// failure is an error on the pep attribute, with secrets redacted.
func (s *stepConfig) openPEP(ctx context.Context, peps PEPSource, name string, secrets []string) (pep.Session, bool) {
	sess, err := peps.PEP(ctx, name)
	if err != nil {
		s.errorf("pep", "Cannot open a PEP session", "%s.", redact(err, secrets...))
		return nil, false
	}
	return sess, true
}

// get returns attribute name without marks; ok is false when it is null or
// (with a diagnostic) unknown.
func (s *stepConfig) get(name string) (cty.Value, bool) {
	if s.val.IsNull() || !s.val.IsKnown() || !s.val.Type().IsObjectType() || !s.val.Type().HasAttribute(name) {
		return cty.NilVal, false
	}
	v, _ := s.val.GetAttr(name).UnmarkDeep()
	if v.IsNull() {
		return cty.NilVal, false
	}
	if !v.IsWhollyKnown() {
		if s.offline {
			return cty.NilVal, false
		}
		s.errorf(name, "Value not known at plan time",
			"The argument %q depends on a value that is known only after apply; runbook needs it to plan. Use a variable or a literal value.", name)
		return cty.NilVal, false
	}
	return v, true
}

// str returns string attribute name, "" when absent.
func (s *stepConfig) str(name string) string {
	v, ok := s.get(name)
	if !ok || v.Type() != cty.String {
		return ""
	}
	return v.AsString()
}

// boolean returns bool attribute name, false when absent.
func (s *stepConfig) boolean(name string) bool {
	v, ok := s.get(name)
	return ok && v.Type() == cty.Bool && v.True()
}

// hub returns the name of the hub the hub attribute refers to.
func (s *stepConfig) hub() string { return s.blockRef("hub") }

// blockRef returns the name of the block of kind ("hub" or "pep") that the
// argument of the same name refers to, with a diagnostic if it refers to
// anything else.
func (s *stepConfig) blockRef(kind string) string {
	v, ok := s.get(kind)
	if !ok {
		return ""
	}
	t := v.Type()
	if t.IsObjectType() && t.HasAttribute("kind") && t.HasAttribute("name") {
		k, name := v.GetAttr("kind"), v.GetAttr("name")
		if k.Type() == cty.String && name.Type() == cty.String && !k.IsNull() && !name.IsNull() && k.AsString() == kind {
			return name.AsString()
		}
	}
	s.errorf(kind, "Invalid "+kind+" reference",
		"The argument %q must name a %s block, such as %s.east; here it is a value of type %s.", kind, kind, kind, t.FriendlyName())
	return ""
}

// connectHub returns the client of hub name and its extra roots from
// hubs, or an error diagnostic on the step's hub attribute.
func (s *stepConfig) connectHub(ctx context.Context, hubs HubSource, name string) (*hub.Client, []*x509.Certificate) {
	client, roots, err := hubs.Hub(ctx, name)
	if err != nil {
		s.errorf("hub", "Cannot connect to the hub", "%s.", err)
		return nil, nil
	}
	return client, roots
}
