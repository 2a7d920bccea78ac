package steps

import (
	"crypto/x509"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
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

// checkPFX runs the checks the stamp will run on an upload, so that plan
// reports every problem at once, with the attribute at fault: fileRng for
// the certificate's own faults, and each diagnostic saying what to do.
func checkPFX(p *PFX, file string, rules certRules, fileRng hcl.Range) hcl.Diagnostics {
	var diags hcl.Diagnostics
	bad := func(summary, detail string, args ...any) {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError, Summary: summary, Detail: fmt.Sprintf(detail, args...), Subject: fileRng.Ptr(),
		})
	}
	c := p.Leaf
	if !p.HasKey {
		bad("PFX has no private key",
			"%s holds the certificate %q but not its private key, and the stamp needs both. Export the certificate again with its private key (Export-PfxCertificate, or \"Yes, export the private key\" in the export wizard).",
			file, c.Subject.String())
	}
	if rules.Host != "" && !matchesHost(c, rules.Host) {
		bad("Certificate does not name the stamp's host",
			"The certificate in %s has the DNS names [%s], but this product on this stamp needs %s among them (the stamp looks at the subject alternative names only, not the subject). Request a certificate for %s, for example with the Readiness Checker's certificate signing request.",
			file, strings.Join(c.DNSNames, ", "), rules.Host, rules.Host)
	}
	expired, early := rules.Now.After(c.NotAfter), rules.Now.Before(c.NotBefore)
	switch {
	case expired:
		bad("Certificate has expired",
			"The certificate in %s expired on %s, %d days ago. Get a new certificate from the stamp's certificate authority.",
			file, rfc3339(c.NotAfter), int(rules.Now.Sub(c.NotAfter).Hours()/24))
	case early:
		bad("Certificate is not valid yet",
			"The certificate in %s is valid only from %s. Wait until then, or have it reissued with an earlier start date.",
			file, rfc3339(c.NotBefore))
	}
	weakSig := false
	switch c.SignatureAlgorithm {
	case x509.SHA1WithRSA, x509.ECDSAWithSHA1, x509.DSAWithSHA1, x509.MD5WithRSA, x509.MD2WithRSA:
		weakSig = true
		bad("Certificate has a weak signature",
			"The certificate in %s is signed with %s; Azure Stack Hub refuses SHA-1 (and older) signatures. Have it reissued with SHA-256 or stronger.",
			file, c.SignatureAlgorithm)
	}
	selfSigned := p.SelfSigned()
	if selfSigned {
		bad("Certificate is self-signed",
			"The certificate in %s (%q) signed itself. Azure Stack Hub accepts only certificates issued by a certificate authority: the same root that issued the stamp's own endpoint certificates.",
			file, c.Subject.String())
	}
	// Verification would fail again for the reasons already reported
	// (x509 refuses SHA-1 signatures), so it runs only when they are not.
	if !selfSigned && !expired && !early && !weakSig && len(rules.Roots) > 0 {
		if err := p.VerifyTrust(rules.Roots, rules.Now); err != nil {
			bad("Certificate is not issued by the stamp's root CA",
				"The certificate in %s, issued by %q, does not chain to the stamp's root CA %s (the hub's ca_file): %s. The certificate must come from the same root as the stamp's endpoints; put any intermediate CA certificates into the PFX.",
				file, c.Issuer.String(), rootNames(rules.Roots), trustReason(err))
		}
	}
	if kt, bits := keyInfo(c); kt != "RSA" {
		bad("Certificate key is not RSA",
			"The certificate in %s has a %s key; Azure Stack Hub requires an RSA key of at least 2048 bits. Request a new certificate with an RSA key.",
			file, kt)
	} else if bits < 2048 {
		bad("Certificate key is too short",
			"The certificate in %s has a %d-bit RSA key; Azure Stack Hub needs at least 2048 bits. Request a new certificate with a 2048-bit or longer key.",
			file, bits)
	}
	return diags
}

func rootNames(roots []*x509.Certificate) string {
	names := make([]string, len(roots))
	for i, r := range roots {
		names[i] = fmt.Sprintf("%q", r.Subject.String())
	}
	return strings.Join(names, ", ")
}

// trustReason shortens x509's verification errors to what the operator
// needs.
func trustReason(err error) string {
	switch e := err.(type) {
	case x509.UnknownAuthorityError:
		return "it is signed by an authority the stamp does not trust"
	case x509.CertificateInvalidError:
		return e.Error()
	}
	return err.Error()
}
