package lang

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// Hub is a hub block: how to reach a stamp's admin Azure Resource Manager.
type Hub struct {
	Name string
	// Endpoint is the admin ARM endpoint, e.g.
	// https://adminmanagement.local.azurestack.external.
	Endpoint string
	// CAFile is the stamp's root CA bundle (PEM), relative to the runbook.
	CAFile string
	// Insecure turns TLS verification off; it is always warned about.
	Insecure       bool
	SubscriptionID string
	Auth           HubAuth
	DeclRange      hcl.Range

	body hcl.Body
}

// HubAuth is the auth block of a hub.
type HubAuth struct {
	// Method is client_secret, client_certificate, device_code or azure_cli.
	Method              string
	Tenant              string
	ClientID            string
	ClientSecret        Secret
	CertificateFile     string
	CertificatePassword Secret
	DeclRange           hcl.Range
}

// HubAuthMethods are the accepted values of hub.auth.method.
var HubAuthMethods = []string{"client_secret", "client_certificate", "device_code", "azure_cli"}

var hubSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "endpoint", Required: true}, {Name: "ca_file"}, {Name: "insecure"}, {Name: "subscription_id"},
	},
	Blocks: []hcl.BlockHeaderSchema{{Type: "auth"}},
}

var hubAuthSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "method", Required: true}, {Name: "tenant"}, {Name: "client_id"}, {Name: "client_secret"},
		{Name: "certificate_file"}, {Name: "certificate_password"},
	},
}

func decodeHub(block *hcl.Block) (*Hub, hcl.Diagnostics) {
	h := &Hub{Name: block.Labels[0], DeclRange: block.DefRange, body: block.Body}
	_, diags := block.Body.Content(hubSchema)
	return h, diags
}

// Value is what hub.NAME evaluates to in expressions: the hub's name and
// endpoint, never its credentials.
func (h *Hub) Value() cty.Value {
	return cty.ObjectVal(map[string]cty.Value{
		"name":     cty.StringVal(h.Name),
		"kind":     cty.StringVal("hub"),
		"endpoint": cty.StringVal(h.Endpoint),
	})
}

// eval evaluates the hub's attributes now that variables and locals are
// known.
func (h *Hub) eval(ctx *hcl.EvalContext) hcl.Diagnostics {
	// decode reported what is wrong with the body's shape (unknown or
	// missing arguments); evaluate what is there without repeating it.
	content, _ := h.body.Content(hubSchema)
	var diags hcl.Diagnostics
	at := attrEvaluator{ctx: ctx}
	h.Endpoint = at.str(content.Attributes["endpoint"])
	h.CAFile = at.str(content.Attributes["ca_file"])
	h.Insecure = at.boolean(content.Attributes["insecure"])
	h.SubscriptionID = at.str(content.Attributes["subscription_id"])
	if a := content.Attributes["endpoint"]; a != nil && at.known(a) {
		u, err := url.Parse(h.Endpoint)
		if err != nil || u.Scheme != "https" || u.Host == "" {
			at.diags = append(at.diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid hub endpoint",
				Detail:   fmt.Sprintf("The endpoint must be an https:// URL of the stamp's admin Resource Manager, such as https://adminmanagement.local.azurestack.external; got %q.", h.Endpoint),
				Subject:  a.Expr.Range().Ptr(),
			})
		}
	}
	if a := content.Attributes["insecure"]; a != nil && h.Insecure {
		at.diags = append(at.diags, &hcl.Diagnostic{
			Severity: hcl.DiagWarning,
			Summary:  "TLS verification is off",
			Detail:   fmt.Sprintf("hub %q sets insecure = true: runbook will not check the stamp's certificate, so anyone on the path can read the secrets it sends. Give the stamp's root CA in ca_file instead.", h.Name),
			Subject:  a.Range.Ptr(),
		})
	}
	switch len(content.Blocks) {
	case 0:
		at.diags = append(at.diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Missing auth block",
			Detail:   fmt.Sprintf("hub %q needs an auth block saying how to sign in: method = one of %s.", h.Name, strings.Join(HubAuthMethods, ", ")),
			Subject:  h.DeclRange.Ptr(),
		})
	case 1:
		at.diags = append(at.diags, evalAuth(ctx, content.Blocks[0], &h.Auth)...)
	default:
		at.diags = append(at.diags, duplicate("auth block", "", content.Blocks[0].DefRange, content.Blocks[1].DefRange))
	}
	return append(diags, at.diags...)
}

// evalAuth evaluates an auth block (of a hub, or of a backend) into a.
func evalAuth(ctx *hcl.EvalContext, block *hcl.Block, a *HubAuth) hcl.Diagnostics {
	content, diags := block.Body.Content(hubAuthSchema)
	if diags.HasErrors() {
		return diags
	}
	at := attrEvaluator{ctx: ctx}
	a.DeclRange = block.DefRange
	a.Method = at.str(content.Attributes["method"])
	a.Tenant = at.str(content.Attributes["tenant"])
	a.ClientID = at.str(content.Attributes["client_id"])
	a.ClientSecret = at.secret(content.Attributes["client_secret"])
	a.CertificateFile = at.str(content.Attributes["certificate_file"])
	a.CertificatePassword = at.secret(content.Attributes["certificate_password"])
	m := content.Attributes["method"]
	if !at.known(m) {
		return append(diags, at.diags...)
	}
	need := func(names ...string) {
		for _, n := range names {
			if content.Attributes[n] == nil {
				at.diags = append(at.diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Missing required argument",
					Detail:   fmt.Sprintf("Sign-in method %q needs the argument %q.", a.Method, n),
					Subject:  block.DefRange.Ptr(),
				})
			}
		}
	}
	switch a.Method {
	case "client_secret":
		need("client_id", "client_secret")
	case "client_certificate":
		need("client_id", "certificate_file")
	case "device_code":
		need("client_id")
	case "azure_cli":
	default:
		at.diags = append(at.diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Unknown sign-in method",
			Detail:   fmt.Sprintf("%q is not a sign-in method; use one of %s.%s", a.Method, strings.Join(HubAuthMethods, ", "), didYouMean(a.Method, HubAuthMethods)),
			Subject:  m.Expr.Range().Ptr(),
		})
	}
	return append(diags, at.diags...)
}

// attrEvaluator evaluates attributes and collects diagnostics.
type attrEvaluator struct {
	ctx   *hcl.EvalContext
	diags hcl.Diagnostics
}

func (e *attrEvaluator) value(a *hcl.Attribute) cty.Value {
	if a == nil {
		return cty.NullVal(cty.DynamicPseudoType)
	}
	v, diags := a.Expr.Value(e.ctx)
	e.diags = append(e.diags, diags...)
	if diags.HasErrors() {
		return cty.DynamicVal
	}
	return v
}

func (e *attrEvaluator) known(a *hcl.Attribute) bool {
	if a == nil {
		return false
	}
	v, _ := a.Expr.Value(e.ctx)
	return v.IsWhollyKnown()
}

func (e *attrEvaluator) str(a *hcl.Attribute) string {
	if a == nil {
		return ""
	}
	s, _, diags := evalString(e.ctx, a.Expr)
	e.diags = append(e.diags, diags...)
	return s
}

// secret evaluates a string attribute that must be sensitive; a secret
// written in clear in the runbook is warned about.
func (e *attrEvaluator) secret(a *hcl.Attribute) Secret {
	if a == nil {
		return Secret{}
	}
	v, diags := a.Expr.Value(e.ctx)
	if diags.HasErrors() {
		e.diags = append(e.diags, diags...)
		return Secret{}
	}
	if v.IsWhollyKnown() && !v.HasMark(Sensitive) {
		e.diags = append(e.diags, &hcl.Diagnostic{
			Severity: hcl.DiagWarning,
			Summary:  "Secret is not marked sensitive",
			Detail:   fmt.Sprintf("The argument %q is a secret, but its value is not sensitive, so it is written in the runbook or in a non-sensitive variable. Take it from a variable with sensitive = true or from env(...).", a.Name),
			Subject:  a.Expr.Range().Ptr(),
		})
	}
	s, _, sdiags := evalString(e.ctx, a.Expr)
	e.diags = append(e.diags, sdiags...)
	return NewSecret(s)
}

func (e *attrEvaluator) boolean(a *hcl.Attribute) bool {
	v := e.value(a)
	v, _ = v.Unmark()
	if a == nil || !v.IsKnown() || v.IsNull() {
		return false
	}
	if v.Type() != cty.Bool {
		e.diags = append(e.diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Incorrect attribute value type",
			Detail:   fmt.Sprintf("The argument %q must be true or false.", a.Name),
			Subject:  a.Expr.Range().Ptr(),
		})
		return false
	}
	return v.True()
}

func (e *attrEvaluator) number(a *hcl.Attribute) (int, bool) {
	v := e.value(a)
	v, _ = v.Unmark()
	if a == nil || !v.IsKnown() || v.IsNull() {
		return 0, false
	}
	if v.Type() != cty.Number {
		e.diags = append(e.diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Incorrect attribute value type",
			Detail:   fmt.Sprintf("The argument %q must be a whole number.", a.Name),
			Subject:  a.Expr.Range().Ptr(),
		})
		return 0, false
	}
	bf := v.AsBigFloat()
	n, acc := bf.Int64()
	if !bf.IsInt() || acc != 0 {
		e.diags = append(e.diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Incorrect attribute value type",
			Detail:   fmt.Sprintf("The argument %q must be a whole number.", a.Name),
			Subject:  a.Expr.Range().Ptr(),
		})
		return 0, false
	}
	return int(n), true
}
