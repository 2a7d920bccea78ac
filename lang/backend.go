package lang

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// Backend is the backend block inside the runbook block: where the
// runbook's journals, history, locks and plan marks live when they are
// shared by a team instead of kept in the local .runbook directory.
//
//	runbook {
//	  backend "azurerm" {
//	    storage_account_name = "azsstate"
//	    endpoint             = "https://azsstate.blob.east.contoso.com"
//	    container_name       = "runbook-state"
//	    key                  = "east/quarterly"
//	    access_key           = env("RUNBOOK_STATE_ACCESS_KEY")
//	    ca_file              = "certs/root-ca.pem"
//	  }
//	}
type Backend struct {
	// Type is the backend type; only "azurerm" exists.
	Type string
	// StorageAccountName and ContainerName say where; the operator
	// creates the container.
	StorageAccountName string
	ContainerName      string
	// Endpoint is the blob service URL; by default Azure's
	// https://ACCOUNT.blob.core.windows.net. https only, except loopback.
	Endpoint string
	// Key is the prefix of every blob the runbook writes.
	Key string
	// One credential: AccessKey, SASToken, or Auth (Azure AD, as in hub
	// blocks).
	AccessKey Secret
	SASToken  Secret
	Auth      *HubAuth
	// CAFile is a root CA bundle (PEM), relative to the runbook.
	CAFile    string
	DeclRange hcl.Range

	body hcl.Body
}

// BackendTypes are the known backend types.
var BackendTypes = []string{"azurerm"}

var backendSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "storage_account_name", Required: true}, {Name: "container_name", Required: true},
		{Name: "key", Required: true}, {Name: "endpoint"}, {Name: "access_key"}, {Name: "sas_token"},
		{Name: "ca_file"},
	},
	Blocks: []hcl.BlockHeaderSchema{{Type: "auth"}},
}

func decodeBackend(block *hcl.Block) (*Backend, hcl.Diagnostics) {
	b := &Backend{Type: block.Labels[0], DeclRange: block.DefRange, body: block.Body}
	if b.Type != "azurerm" {
		return b, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Unknown backend type",
			Detail: fmt.Sprintf("%q is not a backend type; use one of %s, or leave the backend block out to keep state in the local .runbook directory.%s",
				b.Type, strings.Join(BackendTypes, ", "), didYouMean(b.Type, BackendTypes)),
			Subject: block.LabelRanges[0].Ptr(),
		}}
	}
	_, diags := block.Body.Content(backendSchema)
	return b, diags
}

// eval evaluates the backend's arguments now that variables are known.
func (b *Backend) eval(ctx *hcl.EvalContext) hcl.Diagnostics {
	if b.Type != "azurerm" {
		return nil // decode said so
	}
	content, _ := b.body.Content(backendSchema)
	at := attrEvaluator{ctx: ctx}
	attr := content.Attributes
	b.StorageAccountName = at.str(attr["storage_account_name"])
	b.ContainerName = at.str(attr["container_name"])
	b.Key = at.str(attr["key"])
	b.Endpoint = at.str(attr["endpoint"])
	b.AccessKey = at.secret(attr["access_key"])
	b.SASToken = at.secret(attr["sas_token"])
	b.CAFile = at.str(attr["ca_file"])
	if b.Endpoint == "" && attr["endpoint"] == nil && b.StorageAccountName != "" {
		b.Endpoint = "https://" + b.StorageAccountName + ".blob.core.windows.net"
	}
	invalid := func(a *hcl.Attribute, summary, detail string) {
		at.diags = append(at.diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: a.Expr.Range().Ptr()})
	}
	if a := attr["endpoint"]; a != nil && at.known(a) {
		if u, err := url.Parse(b.Endpoint); err != nil || u.Host == "" || u.RawQuery != "" || u.User != nil ||
			!(u.Scheme == "https" || u.Scheme == "http" && isLoopback(u.Host)) {
			invalid(a, "Invalid backend endpoint", fmt.Sprintf(
				"The endpoint must be the https:// URL of the blob service, such as https://%s.blob.core.windows.net or a stamp's https://ACCOUNT.blob.REGION.FQDN (plain http only on this machine, for Azurite); got %q.",
				nonEmpty(b.StorageAccountName, "ACCOUNT"), b.Endpoint))
		}
	}
	if a := attr["key"]; a != nil && at.known(a) {
		if problem := keyProblem(b.Key); problem != "" {
			invalid(a, "Invalid backend key", fmt.Sprintf("The key is the prefix of every blob this runbook writes, such as \"east/quarterly\": %s.", problem))
		}
	}
	if a := attr["container_name"]; a != nil && at.known(a) && !validContainer(b.ContainerName) {
		invalid(a, "Invalid container name", fmt.Sprintf("%q is not a container name: 3 to 63 lower-case letters, digits and single dashes, starting with a letter or digit.", b.ContainerName))
	}
	var creds []string
	for _, n := range []string{"access_key", "sas_token"} {
		if attr[n] != nil {
			creds = append(creds, n)
		}
	}
	for i, blk := range content.Blocks {
		if i > 0 {
			at.diags = append(at.diags, duplicate("auth block", "", content.Blocks[0].DefRange, blk.DefRange))
			continue
		}
		b.Auth = &HubAuth{}
		at.diags = append(at.diags, evalAuth(ctx, blk, b.Auth)...)
		creds = append(creds, "auth")
	}
	switch len(creds) {
	case 0:
		at.diags = append(at.diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Missing backend credential",
			Detail:   "The azurerm backend needs one credential: access_key = env(\"...\"), sas_token = env(\"...\") (a container SAS with permissions racwdl), or an auth block as in hub blocks.",
			Subject:  b.DeclRange.Ptr(),
		})
	case 1:
	default:
		at.diags = append(at.diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Conflicting backend credentials",
			Detail:   fmt.Sprintf("The backend sets %s: give exactly one credential.", strings.Join(creds, " and ")),
			Subject:  b.DeclRange.Ptr(),
		})
	}
	return at.diags
}

// keyProblem says what is wrong with a backend key, or "".
func keyProblem(key string) string {
	if key == "" || len(key) > 512 {
		return "it must have 1 to 512 characters"
	}
	for _, r := range key {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./", r)) {
			return fmt.Sprintf("%q is not allowed; use letters, digits and - _ . /", r)
		}
	}
	for _, seg := range strings.Split(key, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return "it has an empty, \".\" or \"..\" segment"
		}
	}
	return ""
}

func validContainer(name string) bool {
	if len(name) < 3 || len(name) > 63 || name[0] == '-' || name[len(name)-1] == '-' || strings.Contains(name, "--") {
		return false
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

func nonEmpty(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
