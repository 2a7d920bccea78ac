package lang

import (
	"fmt"
	"net"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// PEP is a pep block: how to reach a stamp's Privileged Endpoint over
// PowerShell remoting.
type PEP struct {
	Name string
	// Addresses are the ERCS VMs, tried in order.
	Addresses []string
	// Username is DOMAIN\CloudAdmin.
	Username string
	Password Secret
	// Port defaults to 5985 (5986 with HTTPS).
	Port  int
	HTTPS bool
	// CAFile is the CA bundle for HTTPS, relative to the runbook.
	CAFile   string
	Insecure bool
	// Auth is negotiate (NTLM with message sealing; the default) or basic
	// (loopback only, for the simulator).
	Auth string
	// ConfigurationName is the JEA session configuration, by default
	// PrivilegedEndpoint.
	ConfigurationName string
	// TranscriptsShare is the UNC path Close-PrivilegedEndpoint copies the
	// session transcripts to (-TranscriptsPathDestination), with the
	// share's credential; empty keeps them on the PEP.
	TranscriptsShare    string
	TranscriptsUsername string
	TranscriptsPassword Secret
	DeclRange           hcl.Range

	body hcl.Body
}

// PEPAuthModes are the accepted values of pep.auth.
var PEPAuthModes = []string{"negotiate", "basic"}

var pepSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "addresses", Required: true}, {Name: "username", Required: true}, {Name: "password", Required: true},
		{Name: "port"}, {Name: "https"}, {Name: "ca_file"}, {Name: "insecure"}, {Name: "auth"},
		{Name: "configuration_name"},
		{Name: "transcripts_share"}, {Name: "transcripts_username"}, {Name: "transcripts_password"},
	},
}

func decodePEP(block *hcl.Block) (*PEP, hcl.Diagnostics) {
	p := &PEP{Name: block.Labels[0], DeclRange: block.DefRange, body: block.Body}
	_, diags := block.Body.Content(pepSchema)
	return p, diags
}

// Value is what pep.NAME evaluates to: its name and addresses, never its
// credentials.
func (p *PEP) Value() cty.Value {
	addrs := make([]cty.Value, len(p.Addresses))
	for i, a := range p.Addresses {
		addrs[i] = cty.StringVal(a)
	}
	list := cty.ListValEmpty(cty.String)
	if len(addrs) > 0 {
		list = cty.ListVal(addrs)
	}
	return cty.ObjectVal(map[string]cty.Value{
		"name":      cty.StringVal(p.Name),
		"kind":      cty.StringVal("pep"),
		"addresses": list,
	})
}

func (p *PEP) eval(ctx *hcl.EvalContext) hcl.Diagnostics {
	// decode reported what is wrong with the body's shape (unknown or
	// missing arguments); evaluate what is there without repeating it.
	content, _ := p.body.Content(pepSchema)
	var diags hcl.Diagnostics
	at := attrEvaluator{ctx: ctx}
	if a := content.Attributes["addresses"]; a != nil {
		v := at.value(a)
		v, _ = v.UnmarkDeep() // addresses are not secret, even when they come from env()
		if v.IsWhollyKnown() {
			lv, err := convert.Convert(v, cty.List(cty.String))
			switch {
			case err != nil || lv.IsNull():
				at.diags = append(at.diags, &hcl.Diagnostic{
					Severity: hcl.DiagError, Summary: "Incorrect attribute value type",
					Detail:  "addresses must be a list of the ERCS VMs' IP addresses or host names, such as [\"10.0.0.224\", \"10.0.0.225\"].",
					Subject: a.Expr.Range().Ptr(),
				})
			case lv.LengthInt() == 0:
				at.diags = append(at.diags, &hcl.Diagnostic{
					Severity: hcl.DiagError, Summary: "No PEP addresses",
					Detail:  "addresses must name at least one ERCS VM; list all of them so runbook can fail over.",
					Subject: a.Expr.Range().Ptr(),
				})
			default:
				for _, e := range lv.AsValueSlice() {
					if e.IsNull() || strings.TrimSpace(e.AsString()) == "" {
						at.diags = append(at.diags, &hcl.Diagnostic{
							Severity: hcl.DiagError, Summary: "Empty PEP address",
							Detail:  "Each of addresses must be an ERCS VM's IP address or host name; an empty one cannot be reached.",
							Subject: a.Expr.Range().Ptr(),
						})
						continue
					}
					p.Addresses = append(p.Addresses, e.AsString())
				}
			}
		}
	}
	p.Username = at.str(content.Attributes["username"])
	p.Password = at.secret(content.Attributes["password"])
	p.HTTPS = at.boolean(content.Attributes["https"])
	p.CAFile = at.str(content.Attributes["ca_file"])
	p.Insecure = at.boolean(content.Attributes["insecure"])
	p.ConfigurationName = at.str(content.Attributes["configuration_name"])
	p.TranscriptsShare = at.str(content.Attributes["transcripts_share"])
	p.TranscriptsUsername = at.str(content.Attributes["transcripts_username"])
	p.TranscriptsPassword = at.secret(content.Attributes["transcripts_password"])
	if a := content.Attributes["transcripts_share"]; a != nil && p.TranscriptsShare != "" && !strings.HasPrefix(p.TranscriptsShare, `\\`) {
		at.diags = append(at.diags, &hcl.Diagnostic{
			Severity: hcl.DiagError, Summary: "Not a UNC path",
			Detail:  fmt.Sprintf("transcripts_share is %q; Close-PrivilegedEndpoint copies the transcripts to a file share, \\\\<host>\\<share>.", p.TranscriptsShare),
			Subject: a.Expr.Range().Ptr(),
		})
	}
	if p.ConfigurationName == "" {
		p.ConfigurationName = "PrivilegedEndpoint"
	}
	p.Auth = at.str(content.Attributes["auth"])
	if p.Auth == "" {
		p.Auth = "negotiate"
	}
	if port, ok := at.number(content.Attributes["port"]); ok {
		if port < 1 || port > 65535 {
			at.diags = append(at.diags, &hcl.Diagnostic{
				Severity: hcl.DiagError, Summary: "Invalid port",
				Detail:  fmt.Sprintf("%d is not a TCP port.", port),
				Subject: content.Attributes["port"].Expr.Range().Ptr(),
			})
		}
		p.Port = port
	} else if p.HTTPS {
		p.Port = 5986
	} else {
		p.Port = 5985
	}
	if a := content.Attributes["auth"]; a != nil && at.known(a) {
		switch p.Auth {
		case "negotiate":
		case "basic":
			for _, addr := range p.Addresses {
				if !isLoopback(addr) {
					at.diags = append(at.diags, &hcl.Diagnostic{
						Severity: hcl.DiagError, Summary: "Basic authentication is for loopback only",
						Detail:  fmt.Sprintf("auth = \"basic\" sends the CloudAdmin password in clear; runbook allows it only for a simulator on this machine, not for %s. Use auth = \"negotiate\".", addr),
						Subject: a.Expr.Range().Ptr(),
					})
					break
				}
			}
		default:
			at.diags = append(at.diags, &hcl.Diagnostic{
				Severity: hcl.DiagError, Summary: "Unknown PEP authentication",
				Detail:  fmt.Sprintf("%q is not a PEP authentication mode; use one of %s.%s", p.Auth, strings.Join(PEPAuthModes, ", "), didYouMean(p.Auth, PEPAuthModes)),
				Subject: a.Expr.Range().Ptr(),
			})
		}
	}
	if a := content.Attributes["insecure"]; a != nil && p.Insecure {
		at.diags = append(at.diags, &hcl.Diagnostic{
			Severity: hcl.DiagWarning, Summary: "TLS verification is off",
			Detail:  fmt.Sprintf("pep %q sets insecure = true: runbook will not check the PEP's certificate. Give the stamp's root CA in ca_file instead.", p.Name),
			Subject: a.Range.Ptr(),
		})
	}
	return append(diags, at.diags...)
}

// isLoopback reports whether addr names this machine.
func isLoopback(addr string) bool {
	host := addr
	if h, _, err := net.SplitHostPort(addr); err == nil {
		host = h
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// evalConnections evaluates every hub and pep block.
func (rb *Runbook) evalConnections() hcl.Diagnostics {
	var diags hcl.Diagnostics
	ctx := rb.evalContext(nil)
	for _, name := range sortedKeys(rb.Hubs) {
		diags = append(diags, rb.Hubs[name].eval(ctx)...)
	}
	for _, name := range sortedKeys(rb.PEPs) {
		diags = append(diags, rb.PEPs[name].eval(ctx)...)
	}
	if rb.Meta != nil && rb.Meta.Backend != nil {
		diags = append(diags, rb.Meta.Backend.eval(ctx)...)
	}
	return diags
}
