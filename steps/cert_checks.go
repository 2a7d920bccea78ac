package steps

import (
	"crypto/x509"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/runbook-dev/runbook/certcheck"
)

// certRules is what a stamp requires of a certificate for one product's
// secret, as far as runbook can know it locally. Empty fields are unknown
// and their checks are left to the stamp's validate call.
type certRules struct {
	// Host is the DNS name the certificate must carry as a SAN, e.g.
	// *.eventhub.east.contoso.com.
	Host string
	// Roots are the stamp's root CAs (the hub's ca_file); nil when the hub
	// block gives none.
	Roots []*x509.Certificate
	Now   time.Time
}

// sanLabels maps product ids to the label of the certificate host they need,
// *.<label>.<region>.<fqdn> (Azure Stack Hub PKI requirements for the
// value-add resource providers).
var sanLabels = map[string]string{
	"microsoft.eventhub": "eventhub",
	"microsoft.sqlrp":    "dbadapter",
	"microsoft.mysqlrp":  "dbadapter",
}

// productHost returns the certificate host a product needs on the stamp
// whose admin endpoint is endpoint (https://adminmanagement.<region>.<fqdn>).
// why says what is unknown when ok is false.
func productHost(productID, endpoint string) (host string, why string, ok bool) {
	label, known := sanLabels[strings.ToLower(productID)]
	if !known {
		return "", fmt.Sprintf("runbook does not know which host name product %q needs", productID), false
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return "", fmt.Sprintf("the hub endpoint %q is not a URL", endpoint), false
	}
	h := strings.ToLower(u.Hostname())
	rest, found := strings.CutPrefix(h, "adminmanagement.")
	region, fqdn, dot := strings.Cut(rest, ".")
	if !found || !dot || region == "" || !strings.Contains(fqdn, ".") {
		return "", fmt.Sprintf("the hub endpoint's host %q is not of the form adminmanagement.<region>.<fqdn>, so the stamp's region and domain are unknown", h), false
	}
	return "*." + label + "." + region + "." + fqdn, "", true
}

// productOfPackage returns the product id of a package id: the package id
// without its trailing version ("microsoft.eventhub.1.2003.0.0" →
// "microsoft.eventhub").
func productOfPackage(packageID string) string {
	parts := strings.Split(packageID, ".")
	i := len(parts)
	for i > 1 && isDigits(parts[i-1]) {
		i--
	}
	return strings.Join(parts[:i], ".")
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// checkPFX runs the Readiness Checker's rules (package certcheck) on the
// PFX before anything is sent, so that plan reports every problem at once:
// one diagnostic per broken rule on fileRng, naming the file and the rule.
// The stamp's root CA is the only trusted root: a resource provider's
// certificate comes from the stamp's own CA.
func checkPFX(data []byte, password, file string, rules certRules, fileRng hcl.Range) hcl.Diagnostics {
	pol := certcheck.Policy{
		Now: rules.Now, Roots: rules.Roots,
		ExtKeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	if rules.Host != "" {
		pol.Hosts = []string{rules.Host}
	}
	r := certcheck.Check(data, password, pol)
	var diags hcl.Diagnostics
	for _, f := range append(certcheck.CheckPassword(password), r.Findings...) {
		sev := hcl.DiagError
		if f.Severity == certcheck.Warn {
			sev = hcl.DiagWarning
		}
		diags = append(diags, &hcl.Diagnostic{
			Severity: sev,
			Summary:  fmt.Sprintf("Certificate fails the %q check", f.Rule),
			Detail:   fmt.Sprintf("%s: %s", file, f.Message),
			Subject:  fileRng.Ptr(),
		})
	}
	return diags
}
