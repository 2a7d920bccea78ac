package expiry

import (
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/runbook-dev/runbook/lang"
	"github.com/zclconf/go-cty/cty"
)

// Rotation is what one step of a runbook rotates.
type Rotation struct {
	// Step is the step's address.
	Step string
	// Block is the hub or pep block the step acts on ("hub.local").
	Block string
	// Covers reports whether the step rotates a secret of the group.
	Covers func(Group) bool
}

// coverSchema is the part of a step body the radar reads: which system and
// which product, secret or kind of rotation.
var coverSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "hub"}, {Name: "pep"}, {Name: "product_id"}, {Name: "package_id"}, {Name: "secret_name"}, {Name: "kind"},
}}

// Rotations lists what the runbook's steps rotate: a product_secret step
// its product's secret, a rotate_action step every secret of its product,
// a secret_rotation step the stamp's external (kind = "external") or
// internal secrets. Attributes whose value is only known at plan time
// (an expression over variables) are read as far as they can be without
// evaluating anything that might be secret.
func Rotations(rb *lang.Runbook) []Rotation {
	names := make([]string, 0, len(rb.Steps))
	for n := range rb.Steps {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []Rotation
	for _, n := range names {
		s := rb.Steps[n]
		content, _, _ := s.Body.PartialContent(coverSchema)
		if content == nil {
			continue
		}
		attr := func(name string) string { return staticString(rb, content.Attributes[name]) }
		ref := func(name string) string { return blockRef(content.Attributes[name]) }
		r := Rotation{Step: "step." + s.Name}
		switch s.Type {
		case "product_secret", "rotate_action":
			r.Block = ref("hub")
			product := strings.ToLower(attr("product_id"))
			if product == "" {
				product = productOfPackage(attr("package_id"))
			}
			if product == "" {
				continue
			}
			secret := strings.ToLower(attr("secret_name"))
			whole := s.Type == "rotate_action"
			r.Covers = func(g Group) bool {
				p, sec, ok := strings.Cut(strings.TrimPrefix(string(g), "product:"), "/")
				return ok && strings.HasPrefix(string(g), "product:") && p == product && (whole || sec == secret)
			}
		case "secret_rotation":
			r.Block = ref("pep")
			group := GroupExternal
			if strings.EqualFold(attr("kind"), "internal") {
				group = GroupInternal
			}
			r.Covers = func(g Group) bool { return g == group }
		default:
			continue
		}
		out = append(out, r)
	}
	return out
}

// Cover fills in RotatedBy: a step rotates a secret when it covers its
// group and acts on the block the secret was read through, or, for the
// stamp's own secrets, on any block of the runbook (a PEP rotates what the
// hub's alerts warn of: one runbook, one stamp).
func Cover(secrets []Secret, rotations []Rotation) {
	for i := range secrets {
		s := &secrets[i]
		s.RotatedBy = []string{}
		stamp := s.Group == GroupExternal || s.Group == GroupInternal
		for _, r := range rotations {
			if r.Covers(s.Group) && (stamp || r.Block == "" || r.Block == s.Block) {
				s.RotatedBy = append(s.RotatedBy, r.Step)
			}
		}
		sort.Strings(s.RotatedBy)
	}
}

// staticString evaluates an attribute with the runbook's variables and
// locals (no step values), or "" when it cannot or the value is
// sensitive.
func staticString(rb *lang.Runbook, a *hcl.Attribute) string {
	if a == nil {
		return ""
	}
	v, diags := a.Expr.Value(rb.EvalContext(nil, cty.NilVal))
	if diags.HasErrors() || !v.IsWhollyKnown() || v.IsNull() || v.HasMark(lang.Sensitive) {
		return ""
	}
	v, _ = v.Unmark()
	if v.Type() != cty.String {
		return ""
	}
	return v.AsString()
}

// blockRef returns "hub.NAME" for an attribute written hub.NAME.
func blockRef(a *hcl.Attribute) string {
	if a == nil {
		return ""
	}
	tr, diags := hcl.AbsTraversalForExpr(a.Expr)
	if diags.HasErrors() || len(tr) < 2 {
		return ""
	}
	name, ok := tr[1].(hcl.TraverseAttr)
	if !ok {
		return ""
	}
	return tr.RootName() + "." + name.Name
}

// productOfPackage strips the version from a package id:
// microsoft.eventhub.1.2003.0.0 → microsoft.eventhub.
func productOfPackage(pkg string) string {
	parts := strings.Split(strings.ToLower(pkg), ".")
	for i, p := range parts {
		if p != "" && p[0] >= '0' && p[0] <= '9' {
			return strings.Join(parts[:i], ".")
		}
	}
	return strings.ToLower(pkg)
}
