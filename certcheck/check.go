package certcheck

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"time"

	"software.sslmate.com/src/go-pkcs12"
)

// Rule names one check, with the Readiness Checker's own name for it.
type Rule string

// The rules, in the order the Readiness Checker reports them.
const (
	RuleParsePFX      Rule = "Parse PFX"
	RuleExpiry        Rule = "Expiry Date"
	RuleSignature     Rule = "Signature Algorithm"
	RulePrivateKey    Rule = "Private Key"
	RuleChain         Rule = "Cert Chain"
	RuleDNSNames      Rule = "DNS Names"
	RuleKeyUsage      Rule = "Key Usage"
	RuleKeyLength     Rule = "Key Length"
	RuleChainOrder    Rule = "Chain Order"
	RuleOtherCerts    Rule = "Other Certificates"
	RulePFXEncryption Rule = "PFX Encryption"
	// RuleTrust is runbook's: the chain's root is the stamp's CA or a root
	// the operator declared trusted (an allowed CA change).
	RuleTrust Rule = "Trusted Root"
	// RulePassword is the documented limit on the PFX password's
	// characters.
	RulePassword Rule = "PFX Password"
	// RuleLayout is the folder tree Start-SecretRotation reads.
	RuleLayout Rule = "Folder Layout"
)

// Rules lists every rule Check and CheckDir apply, in report order.
func Rules() []Rule {
	return []Rule{RuleParsePFX, RuleExpiry, RuleSignature, RulePrivateKey, RuleChain, RuleDNSNames,
		RuleKeyUsage, RuleKeyLength, RuleChainOrder, RuleOtherCerts, RulePFXEncryption, RuleTrust,
		RulePassword, RuleLayout}
}

// Severity is how much a finding weighs.
type Severity int

const (
	// Fail: the stamp refuses the certificate (or the Readiness Checker
	// reports Fail, which Microsoft says to treat as a blocker).
	Fail Severity = iota
	// Warn: worth a reviewer's attention, not a blocker.
	Warn
)

func (s Severity) String() string {
	if s == Warn {
		return "warning"
	}
	return "fail"
}

// Finding is one broken rule.
type Finding struct {
	Rule     Rule
	Severity Severity
	// Message says what is wrong and what to do, in full sentences; it
	// never contains the password.
	Message string
}

func (f Finding) String() string { return string(f.Rule) + ": " + f.Message }

// MinValidity is the Readiness Checker's expiry rule: a certificate must be
// valid for at least seven more days.
const MinValidity = 7 * 24 * time.Hour

// MinKeyBits is the smallest RSA key Azure Stack Hub accepts.
const MinKeyBits = 2048

// Policy is what a PFX must satisfy.
type Policy struct {
	// Hosts are the DNS names the certificate must cover, each by an
	// identical SAN or a wildcard SAN one label up (adminportal.r.f is
	// covered by *.r.f); a wildcard host such as *.blob.r.f needs that
	// very wildcard. Empty skips the rule.
	Hosts []string
	// Now is the reference time; required.
	Now time.Time
	// MinValidity is how long the certificate must remain valid after
	// Now; below the Readiness Checker's seven days it is raised to them.
	MinValidity time.Duration
	// ExtKeyUsages are the extended key usages required; nil skips the
	// rule. External certificates need ServerAuth and ClientAuth.
	ExtKeyUsages []x509.ExtKeyUsage
	// Roots are the stamp's current root CAs; nil when unknown, which
	// skips RuleTrust.
	Roots []*x509.Certificate
	// TrustedRoots are other roots the operator accepts: a chain to one
	// of them is a CA change (Result.CAChange), allowed at rotation since
	// 1903 for every change but to a self-signed certificate.
	TrustedRoots []*x509.Certificate
}

// Result is the judgement of one PFX.
type Result struct {
	// Leaf is the certificate the private key belongs to (or the first
	// certificate when there is no key); nil when the file did not open.
	Leaf *x509.Certificate
	// Others are the PFX's other certificates in file order.
	Others []*x509.Certificate
	// Chain is the leaf's issuers, leaf's issuer first, as found among
	// Others; it ends in a self-signed root when complete.
	Chain  []*x509.Certificate
	HasKey bool
	// Encryption names the algorithms protecting the file's key and
	// certificates, e.g. "pbeWithSHAAnd3-KeyTripleDES-CBC".
	Encryption []string
	// CAChange is set when the chain ends in one of Policy.TrustedRoots
	// rather than the stamp's current root.
	CAChange bool
	Findings []Finding
}

// Failed reports whether any finding is a Fail.
func (r *Result) Failed() bool {
	for _, f := range r.Findings {
		if f.Severity == Fail {
			return true
		}
	}
	return false
}

// Root returns the self-signed root the chain ends in, or nil.
func (r *Result) Root() *x509.Certificate {
	if n := len(r.Chain); n > 0 && SelfSigned(r.Chain[n-1]) {
		return r.Chain[n-1]
	}
	return nil
}

// ErrPassword is the cause of a RuleParsePFX finding when the password does
// not open the file.
var ErrPassword = errors.New("the password does not open the PFX file")

// Check opens data with password and applies every rule. A file that does
// not open yields a single RuleParsePFX finding (the Readiness Checker
// skips the rules that depend on it).
func Check(data []byte, password string, p Policy) *Result {
	r := &Result{}
	fail := func(rule Rule, format string, args ...any) {
		r.Findings = append(r.Findings, Finding{Rule: rule, Severity: Fail, Message: fmt.Sprintf(format, args...)})
	}
	key, leaf, others, err := pkcs12.DecodeChain(data, password)
	switch {
	case err == nil:
		r.HasKey = true
		r.Leaf, r.Others = pickLeaf(key, leaf, others)
	case errors.Is(err, pkcs12.ErrIncorrectPassword), errors.Is(err, pkcs12.ErrDecryption):
		fail(RuleParsePFX, "%s; use the one password all PFX files share.", ErrPassword)
		return r
	case strings.Contains(err.Error(), "private key missing"):
		certs, tsErr := pkcs12.DecodeTrustStore(data, password)
		if tsErr != nil || len(certs) == 0 {
			certs, tsErr = certsOnly(data, password)
		}
		if tsErr != nil || len(certs) == 0 {
			fail(RuleParsePFX, "The file opens but its certificates cannot be read.")
			return r
		}
		r.Leaf, r.Others = certs[0], certs[1:]
	default:
		// go-pkcs12's messages describe the structure, never the input.
		fail(RuleParsePFX, "The file is not a PFX (PKCS#12) file that can be read (%s).", strings.TrimPrefix(err.Error(), "pkcs12: "))
		return r
	}
	r.Encryption = encryption(data)
	c := r.Leaf

	minValid := p.MinValidity
	if minValid < MinValidity {
		minValid = MinValidity
	}
	switch {
	case p.Now.Before(c.NotBefore):
		fail(RuleExpiry, "The certificate is valid only from %s. Wait until then, or have it reissued with an earlier start date.", stamp(c.NotBefore))
	case p.Now.After(c.NotAfter):
		fail(RuleExpiry, "The certificate expired on %s. Request a new one.", stamp(c.NotAfter))
	case c.NotAfter.Sub(p.Now) < minValid:
		fail(RuleExpiry, "The certificate expires on %s, in %s; it must remain valid for at least %s. Request a new one.",
			stamp(c.NotAfter), days(c.NotAfter.Sub(p.Now)), days(minValid))
	}
	if weakSignature(c.SignatureAlgorithm) {
		fail(RuleSignature, "The certificate is signed with %s; SHA-1 and older signatures are refused. Have it reissued with SHA-256 or stronger.", c.SignatureAlgorithm)
	}
	if !r.HasKey {
		fail(RulePrivateKey, "The file holds the certificate %q but not its private key. Export it again with its private key.", c.Subject.String())
	}
	r.chain(p, fail)
	if len(p.Hosts) > 0 {
		var missing []string
		for _, h := range p.Hosts {
			if !Covers(c.DNSNames, h) {
				missing = append(missing, h)
			}
		}
		if len(missing) > 0 {
			fail(RuleDNSNames, "The certificate's DNS names [%s] do not cover %s. Request a certificate with %s among its subject alternative names.",
				strings.Join(c.DNSNames, ", "), strings.Join(missing, ", "), strings.Join(missing, ", "))
		}
	}
	const want = x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment
	if c.KeyUsage&want != want {
		fail(RuleKeyUsage, "The certificate's key usage is %s; it must include Digital Signature and Key Encipherment.", keyUsage(c.KeyUsage))
	}
	if missing := missingEKU(c, p.ExtKeyUsages); len(missing) > 0 {
		fail(RuleKeyUsage, "The certificate's enhanced key usage lacks %s. Request it with Server Authentication (1.3.6.1.5.5.7.3.1) and Client Authentication (1.3.6.1.5.5.7.3.2).", strings.Join(missing, " and "))
	}
	switch kt, bits := KeyInfo(c); {
	case kt != "RSA":
		fail(RuleKeyLength, "The certificate has a %s key; an RSA key of at least %d bits is required.", kt, MinKeyBits)
	case bits < MinKeyBits:
		fail(RuleKeyLength, "The certificate has a %d-bit RSA key; at least %d bits are required.", bits, MinKeyBits)
	}
	if bad := notTripleDES(r.Encryption); len(bad) > 0 {
		fail(RulePFXEncryption, "The file is protected with %s; Azure Stack Hub requires TripleDES-SHA1. Export it again with Export-PfxCertificate -CryptoAlgorithmOption TripleDES_SHA1 (or \"TripleDES-SHA1\" in the export wizard).", strings.Join(bad, ", "))
	}
	return r
}

// chain fills r.Chain and applies RuleChain, RuleChainOrder,
// RuleOtherCerts and RuleTrust.
func (r *Result) chain(p Policy, fail func(Rule, string, ...any)) {
	c := r.Leaf
	if SelfSigned(c) {
		fail(RuleChain, "The certificate %q is self-signed. Azure Stack Hub accepts only certificates issued by a certificate authority.", c.Subject.String())
		return
	}
	// Walk up from the leaf through the PFX's certificates.
	used := map[int]bool{}
	cur := c
	for len(r.Chain) < len(r.Others) && !SelfSigned(cur) {
		next := -1
		for i, o := range r.Others {
			if !used[i] && issued(o, cur) {
				next = i
				break
			}
		}
		if next < 0 {
			break
		}
		used[next] = true
		r.Chain = append(r.Chain, r.Others[next])
		cur = r.Others[next]
	}
	root := r.Root()
	if root == nil {
		top := c
		if n := len(r.Chain); n > 0 {
			top = r.Chain[n-1]
		}
		fail(RuleChain, "The chain is incomplete: the file has no certificate of %q, which issued %q. Export the certificate with its whole chain (\"Include all certificates in the certification path\").",
			top.Issuer.String(), top.Subject.String())
		// As the Readiness Checker does, the checks that depend on a
		// complete chain are skipped.
		return
	}
	var extra []string
	for i, o := range r.Others {
		if !used[i] {
			extra = append(extra, fmt.Sprintf("%q", o.Subject.String()))
		}
	}
	if len(extra) > 0 {
		fail(RuleOtherCerts, "The file holds certificates outside the leaf's chain: %s. Export only the certificate and its chain.", strings.Join(extra, ", "))
	}
	// In order: the others, in file order, are the chain leaf-up.
	inOrder := len(extra) == 0
	for i := range r.Chain {
		if i >= len(r.Others) || r.Others[i] != r.Chain[i] {
			inOrder = false
		}
	}
	if len(extra) == 0 && !inOrder {
		fail(RuleChainOrder, "The chain's certificates are out of order: the file has %s, where each must be followed by its issuer (%s). Export the certificate again with its chain.",
			subjects(r.Others), subjects(r.Chain))
	}
	if len(p.Roots) == 0 {
		return
	}
	switch {
	case contains(p.Roots, root):
	case contains(p.TrustedRoots, root):
		r.CAChange = true
	default:
		fail(RuleTrust, "The chain ends in the root %q, which is neither the stamp's root (%s) nor a root declared trusted. Use a certificate from the stamp's CA, or declare the new root trusted to change the CA (allowed at rotation since 1903).",
			root.Subject.String(), subjects(p.Roots))
	}
}

// CheckPassword applies the documented limit on the PFX password: no
// special characters such as $ * # @ ) (Rotate secrets, 2022).
func CheckPassword(password string) []Finding {
	const forbidden = "$*#@)"
	var bad []string
	for _, r := range forbidden {
		if strings.ContainsRune(password, r) {
			bad = append(bad, string(r))
		}
	}
	if len(bad) == 0 {
		return nil
	}
	// Which characters it holds is a hint about the password: say only
	// how many.
	return []Finding{{Rule: RulePassword, Severity: Fail, Message: fmt.Sprintf(
		"The PFX password holds %d of the characters Microsoft says not to use (%s). Export the PFX files again with a password without them.",
		len(bad), strings.Join(strings.Split(forbidden, ""), " "))}}
}

// Covers reports whether the SANs cover host: an identical name (case
// ignored), or for a non-wildcard host, a wildcard one label up.
func Covers(sans []string, host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for _, n := range sans {
		n = strings.ToLower(strings.TrimSuffix(n, "."))
		if n == host {
			return true
		}
		if rest, ok := strings.CutPrefix(n, "*."); ok && !strings.HasPrefix(host, "*.") {
			if _, parent, found := strings.Cut(host, "."); found && parent == rest {
				return true
			}
		}
	}
	return false
}

// SelfSigned reports whether c names itself as issuer and its signature
// verifies with its own key.
func SelfSigned(c *x509.Certificate) bool {
	return bytes.Equal(c.RawIssuer, c.RawSubject) &&
		c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) == nil
}

// issued reports whether parent's key signed child. SHA-1 signatures are
// checked too: the Signature Algorithm rule reports them, not this one.
func issued(parent, child *x509.Certificate) bool {
	if !bytes.Equal(child.RawIssuer, parent.RawSubject) {
		return false
	}
	if child.CheckSignatureFrom(parent) == nil {
		return true
	}
	// CheckSignatureFrom refuses SHA-1; verify the signature by hand.
	pub, ok := parent.PublicKey.(*rsa.PublicKey)
	if !ok || child.SignatureAlgorithm != x509.SHA1WithRSA {
		return false
	}
	h := crypto.SHA1.New()
	h.Write(child.RawTBSCertificate)
	return rsa.VerifyPKCS1v15(pub, crypto.SHA1, h.Sum(nil), child.Signature) == nil
}

// KeyInfo returns the key's type and size in bits.
func KeyInfo(c *x509.Certificate) (string, int) {
	switch k := c.PublicKey.(type) {
	case *rsa.PublicKey:
		return "RSA", k.N.BitLen()
	case *ecdsa.PublicKey:
		return "ECDSA", k.Curve.Params().BitSize
	case ed25519.PublicKey:
		return "Ed25519", 256
	}
	return c.PublicKeyAlgorithm.String(), 0
}

func weakSignature(a x509.SignatureAlgorithm) bool {
	switch a {
	case x509.SHA1WithRSA, x509.ECDSAWithSHA1, x509.DSAWithSHA1, x509.MD5WithRSA, x509.MD2WithRSA:
		return true
	}
	return false
}

func missingEKU(c *x509.Certificate, want []x509.ExtKeyUsage) []string {
	names := map[x509.ExtKeyUsage]string{x509.ExtKeyUsageServerAuth: "Server Authentication", x509.ExtKeyUsageClientAuth: "Client Authentication"}
	var out []string
	for _, w := range want {
		found := false
		for _, u := range c.ExtKeyUsage {
			if u == w || u == x509.ExtKeyUsageAny {
				found = true
			}
		}
		if !found {
			out = append(out, names[w])
		}
	}
	return out
}

func keyUsage(u x509.KeyUsage) string {
	var out []string
	for _, k := range []struct {
		bit  x509.KeyUsage
		name string
	}{{x509.KeyUsageDigitalSignature, "Digital Signature"}, {x509.KeyUsageContentCommitment, "Non Repudiation"},
		{x509.KeyUsageKeyEncipherment, "Key Encipherment"}, {x509.KeyUsageDataEncipherment, "Data Encipherment"},
		{x509.KeyUsageKeyAgreement, "Key Agreement"}, {x509.KeyUsageCertSign, "Certificate Signing"}, {x509.KeyUsageCRLSign, "CRL Signing"}} {
		if u&k.bit != 0 {
			out = append(out, k.name)
		}
	}
	if len(out) == 0 {
		return "empty"
	}
	return strings.Join(out, ", ")
}

func pickLeaf(key any, leaf *x509.Certificate, others []*x509.Certificate) (*x509.Certificate, []*x509.Certificate) {
	signer, ok := key.(crypto.Signer)
	if !ok {
		return leaf, others
	}
	pub, _ := signer.Public().(interface{ Equal(crypto.PublicKey) bool })
	all := append([]*x509.Certificate{leaf}, others...)
	for i, c := range all {
		if pub != nil && pub.Equal(c.PublicKey) {
			return c, append(append([]*x509.Certificate(nil), all[:i]...), all[i+1:]...)
		}
	}
	return leaf, others
}

func contains(list []*x509.Certificate, c *x509.Certificate) bool {
	for _, l := range list {
		if l.Equal(c) {
			return true
		}
	}
	return false
}

func subjects(cs []*x509.Certificate) string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = fmt.Sprintf("%q", c.Subject.String())
	}
	return strings.Join(out, ", ")
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func days(d time.Duration) string {
	n := int(d.Hours() / 24)
	if n == 1 {
		return "1 day"
	}
	if n < 1 {
		return fmt.Sprintf("%d hours", int(d.Hours()))
	}
	return fmt.Sprintf("%d days", n)
}
