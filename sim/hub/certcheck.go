package hub

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

	"github.com/runbook-dev/runbook/sim/certs"
	"software.sslmate.com/src/go-pkcs12"
)

// Error codes of certificate uploads (validate and import). The real codes
// are not documented (hub-api.md §6 q2); these are the simulator's, one per
// rule of the Azure Stack Hub PKI requirements.
const (
	CodeInvalidRequestContent      = "InvalidRequestContent"
	CodeInvalidCertificate         = "InvalidCertificate"
	CodeInvalidCertificatePassword = "InvalidCertificatePassword"
	CodeMissingPrivateKey          = "CertificateMissingPrivateKey"
	CodeWeakKey                    = "CertificateWeakKey"
	CodeWeakSignature              = "CertificateWeakSignature"
	CodeSANMismatch                = "CertificateSubjectAlternativeNameMismatch"
	CodeNotYetValid                = "CertificateNotYetValid"
	CodeExpired                    = "CertificateExpired"
	CodeSelfSigned                 = "CertificateSelfSigned"
	CodeUntrustedRoot              = "CertificateUntrustedRoot"
)

// minKeyBits is the smallest RSA key the stamp accepts.
const minKeyBits = 2048

// certRequirement is what an uploaded certificate must satisfy.
type certRequirement struct {
	Host     string         // required DNS SAN, e.g. *.eventhub.local.azurestack.external
	Product  string         // product id, for messages
	Roots    *x509.CertPool // the stamp's root
	RootName string         // its common name, for messages
	Now      time.Time      // the stamp clock
}

// checkCertificate opens a PFX and applies the stamp's rules in a fixed
// order: readable, password, private key, RSA ≥ 2048, no SHA-1, SAN,
// validity, not self-signed, chains to the stamp root. It returns the
// certificate's fingerprint, or the first rule broken. Messages name the
// problem but never the password.
func checkCertificate(pfx []byte, password string, req certRequirement) (*CertInfo, *ErrorInfo) {
	bad := func(code, format string, args ...any) (*CertInfo, *ErrorInfo) {
		return nil, &ErrorInfo{Code: code, Message: fmt.Sprintf(format, args...)}
	}
	key, leaf, chain, err := pkcs12.DecodeChain(pfx, password)
	switch {
	case errors.Is(err, pkcs12.ErrIncorrectPassword):
		return bad(CodeInvalidCertificatePassword, "The password does not open the PFX file (the PKCS#12 integrity check failed).")
	case err != nil && strings.Contains(err.Error(), "private key missing"):
		// go-pkcs12 has no sentinel for a certificate-only PFX.
		return bad(CodeMissingPrivateKey, "The PFX file contains no private key; export the certificate with its private key.")
	case err != nil:
		return bad(CodeInvalidCertificate, "The data is not a PKCS#12 (PFX) file that can be read: %v.", err)
	}
	leaf, chain = pickLeaf(key, leaf, chain)
	if leaf == nil {
		return bad(CodeMissingPrivateKey, "The private key in the PFX file does not belong to any of its certificates.")
	}
	switch pub := leaf.PublicKey.(type) {
	case *rsa.PublicKey:
		if n := pub.N.BitLen(); n < minKeyBits {
			return bad(CodeWeakKey, "The certificate's RSA key has %d bits; at least %d are required.", n, minKeyBits)
		}
	default:
		return bad(CodeWeakKey, "The certificate's key is %s; Azure Stack Hub requires an RSA key of at least %d bits.",
			leaf.PublicKeyAlgorithm, minKeyBits)
	}
	switch leaf.SignatureAlgorithm {
	case x509.SHA1WithRSA, x509.ECDSAWithSHA1, x509.DSAWithSHA1, x509.MD5WithRSA, x509.MD2WithRSA:
		return bad(CodeWeakSignature, "The certificate is signed with %s; SHA-1 and older signature algorithms are not accepted.",
			leaf.SignatureAlgorithm)
	}
	if !hasDNSName(leaf, req.Host) {
		return bad(CodeSANMismatch, "The certificate's DNS subject alternative names [%s] do not include '%s', required for product '%s'.",
			strings.Join(leaf.DNSNames, ", "), req.Host, req.Product)
	}
	if req.Now.Before(leaf.NotBefore) {
		return bad(CodeNotYetValid, "The certificate is not valid before %s (now %s).", armTime(leaf.NotBefore), armTime(req.Now))
	}
	if req.Now.After(leaf.NotAfter) {
		return bad(CodeExpired, "The certificate expired at %s (now %s).", armTime(leaf.NotAfter), armTime(req.Now))
	}
	if bytes.Equal(leaf.RawIssuer, leaf.RawSubject) &&
		leaf.CheckSignature(leaf.SignatureAlgorithm, leaf.RawTBSCertificate, leaf.Signature) == nil {
		return bad(CodeSelfSigned, "The certificate '%s' is self-signed; it must be issued by the stamp's certificate authority.",
			leaf.Subject.CommonName)
	}
	inter := x509.NewCertPool()
	for _, c := range chain {
		inter.AddCert(c)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{
		Roots: req.Roots, Intermediates: inter, CurrentTime: req.Now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	}); err != nil {
		return bad(CodeUntrustedRoot, "The certificate issued by '%s' does not chain to the stamp's root '%s'.",
			leaf.Issuer.CommonName, req.RootName)
	}
	return &CertInfo{
		ThumbprintSHA256: certs.SHA256Thumbprint(leaf), Subject: leaf.Subject.String(),
		DNSNames: append([]string(nil), leaf.DNSNames...), NotBefore: leaf.NotBefore.UTC(), NotAfter: leaf.NotAfter.UTC(),
		ImportedAt: req.Now,
	}, nil
}

// pickLeaf returns the certificate the private key belongs to (go-pkcs12
// takes the first certificate as the leaf, which Windows exports need not
// honour) and the others as the chain; nil if none matches.
func pickLeaf(key any, leaf *x509.Certificate, chain []*x509.Certificate) (*x509.Certificate, []*x509.Certificate) {
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, nil
	}
	pub := signer.Public()
	all := append([]*x509.Certificate{leaf}, chain...)
	for i, c := range all {
		if samePublicKey(pub, c.PublicKey) {
			rest := append(append([]*x509.Certificate(nil), all[:i]...), all[i+1:]...)
			return c, rest
		}
	}
	return nil, nil
}

func samePublicKey(a, b crypto.PublicKey) bool {
	switch k := a.(type) {
	case *rsa.PublicKey:
		return k.Equal(b)
	case *ecdsa.PublicKey:
		return k.Equal(b)
	case ed25519.PublicKey:
		return k.Equal(b)
	}
	return false
}

// hasDNSName reports whether the certificate lists host (compared
// case-insensitively, wildcard as a literal) among its DNS SANs. The
// subject is ignored, as Azure Stack Hub ignores it.
func hasDNSName(c *x509.Certificate, host string) bool {
	for _, n := range c.DNSNames {
		if strings.EqualFold(n, host) {
			return true
		}
	}
	return false
}
