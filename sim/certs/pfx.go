package certs

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"software.sslmate.com/src/go-pkcs12"
)

// Flaw is a deliberate defect IssuePFX builds into a certificate, so tests
// can check that the stamp rejects it. Each flaw is the only defect of the
// certificate it produces.
type Flaw int

// The flaws IssuePFX can build in.
const (
	// FlawNone makes a certificate that passes every check.
	FlawNone Flaw = iota
	// FlawWrongSAN replaces Hosts with a name no product uses.
	FlawWrongSAN
	// FlawExpired makes the certificate expire a day before Now.
	FlawExpired
	// FlawNotYetValid makes the certificate valid only from a day after Now.
	FlawNotYetValid
	// FlawSelfSigned signs the certificate with its own key.
	FlawSelfSigned
	// FlawOtherCA has the certificate issued by OtherCAName, a root the
	// stamp does not trust.
	FlawOtherCA
	// FlawNoPrivateKey leaves the key out of the PFX (certificates only).
	FlawNoPrivateKey
	// FlawSHA1 signs the certificate with SHA1WithRSA.
	FlawSHA1
	// FlawWeakKey gives the certificate a WeakKeyBits RSA key.
	FlawWeakKey
	// FlawWrongPassword protects the PFX with another password.
	FlawWrongPassword
	// FlawIncompleteChain issues the certificate from an intermediate CA
	// and leaves the intermediate out of the PFX.
	FlawIncompleteChain
	// FlawChainOrder issues the certificate from an intermediate CA and
	// puts the root before the intermediate in the PFX.
	FlawChainOrder
	// FlawExtraCert adds a certificate outside the chain to the PFX.
	FlawExtraCert
	// FlawKeyUsage leaves Key Encipherment out of the key usage.
	FlawKeyUsage
	// FlawNoClientAuth gives the certificate the Server Authentication
	// EKU only.
	FlawNoClientAuth
	// FlawExpiresSoon makes the certificate expire three days after Now,
	// inside the Readiness Checker's seven days.
	FlawExpiresSoon
	// FlawAESEncryption protects the PFX with AES-256 (PBES2) rather than
	// TripleDES-SHA1.
	FlawAESEncryption
)

var flawNames = [...]string{
	FlawNone:         "none",
	FlawWrongSAN:     "wrong-san",
	FlawExpired:      "expired",
	FlawNotYetValid:  "not-yet-valid",
	FlawSelfSigned:   "self-signed",
	FlawOtherCA:      "other-ca",
	FlawNoPrivateKey: "no-private-key",
	FlawSHA1:         "sha1",
	FlawWeakKey:      "weak-key",

	FlawWrongPassword:   "wrong-password",
	FlawIncompleteChain: "incomplete-chain",
	FlawChainOrder:      "chain-order",
	FlawExtraCert:       "extra-cert",
	FlawKeyUsage:        "key-usage",
	FlawNoClientAuth:    "no-client-auth",
	FlawExpiresSoon:     "expires-soon",
	FlawAESEncryption:   "aes-encryption",
}

// String returns the flaw's name as ParseFlaw accepts it, e.g. "wrong-san".
func (f Flaw) String() string {
	if f >= 0 && int(f) < len(flawNames) {
		return flawNames[f]
	}
	return fmt.Sprintf("Flaw(%d)", int(f))
}

// Flaws returns every flaw except FlawNone, in declaration order.
func Flaws() []Flaw {
	out := make([]Flaw, 0, len(flawNames)-1)
	for f := FlawNone + 1; int(f) < len(flawNames); f++ {
		out = append(out, f)
	}
	return out
}

// ParseFlaw returns the flaw named s (see Flaw.String), case-insensitively.
func ParseFlaw(s string) (Flaw, error) {
	for i, n := range flawNames {
		if strings.EqualFold(n, s) {
			return Flaw(i), nil
		}
	}
	return 0, fmt.Errorf("certs: unknown certificate flaw %q (want one of %s)", s, strings.Join(flawNames[:], ", "))
}

// WrongSANHost is the only SAN of a FlawWrongSAN certificate.
const WrongSANHost = "wrong-san.example.invalid"

// OtherCAName is the name of the untrusted root that issues FlawOtherCA
// certificates.
const OtherCAName = "Untrusted Simulated Root CA"

// PFXOptions describes a certificate for IssuePFX.
type PFXOptions struct {
	// Hosts are the DNS subject alternative names, e.g.
	// "*.eventhub.local.azurestack.external". Required.
	Hosts []string
	// CommonName is the subject CN; default Hosts[0]. The stamp ignores it.
	CommonName string
	// Now is the reference time for the default validity and for
	// FlawExpired and FlawNotYetValid. Required: pass the stamp clock's Now.
	Now time.Time
	// NotBefore and NotAfter bound the validity; defaults are an hour
	// before Now and a year after Now.
	NotBefore, NotAfter time.Time
	// Password protects the PFX.
	Password string
	// Flaw is the defect to build in; FlawNone for a good certificate.
	Flaw Flaw
	// OmitChain leaves the root certificate out of the PFX. By default the
	// PFX carries leaf, root and key, as an export "with chain" does.
	OmitChain bool
	// Encoder is the PKCS#12 encoder; default pkcs12.LegacyDES (TripleDES,
	// the encryption Azure Stack Hub documents). pkcs12.Modern also works.
	Encoder *pkcs12.Encoder
}

var (
	otherCAOnce sync.Once
	otherCA     *CA
	otherCAErr  error
)

// untrustedCA returns the process-wide OtherCAName root, valid from 2000 to
// 2099 so that it covers any simulated time.
func untrustedCA() (*CA, error) {
	otherCAOnce.Do(func() {
		otherCA, otherCAErr = NewCA(OtherCAName,
			time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC))
	})
	return otherCA, otherCAErr
}

// IssuePFX issues a certificate as described by opts and returns it as a
// PKCS#12 file. Unless opts.Flaw says otherwise the certificate is what the
// stamp accepts: RSA 2048, SHA-256, issued by ca, server-authentication
// EKU, with key, valid around opts.Now.
func (ca *CA) IssuePFX(opts PFXOptions) ([]byte, error) {
	if len(opts.Hosts) == 0 {
		return nil, errors.New("certs: PFX needs at least one host")
	}
	if opts.Now.IsZero() {
		return nil, errors.New("certs: PFXOptions.Now is required")
	}
	hosts := opts.Hosts
	if opts.Flaw == FlawWrongSAN {
		hosts = []string{WrongSANHost}
	}
	cn := opts.CommonName
	if cn == "" {
		cn = hosts[0]
	}
	notBefore, notAfter := opts.NotBefore, opts.NotAfter
	if notBefore.IsZero() {
		notBefore = opts.Now.Add(-time.Hour)
	}
	if notAfter.IsZero() {
		notAfter = opts.Now.AddDate(1, 0, 0)
	}
	switch opts.Flaw {
	case FlawExpired:
		notBefore, notAfter = opts.Now.AddDate(-1, 0, 0), opts.Now.AddDate(0, 0, -1)
	case FlawNotYetValid:
		notBefore, notAfter = opts.Now.AddDate(0, 0, 1), opts.Now.AddDate(1, 0, 1)
	case FlawExpiresSoon:
		notAfter = opts.Now.AddDate(0, 0, 3)
	}

	bits, keyPurpose := KeyBits, "pfx"
	if opts.Flaw == FlawWeakKey {
		bits, keyPurpose = WeakKeyBits, "pfx-weak"
	}
	key, err := cachedKey(keyPurpose, bits)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: cn},
		NotBefore:   notBefore,
		NotAfter:    notAfter,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	switch opts.Flaw {
	case FlawKeyUsage:
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	case FlawNoClientAuth:
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	}
	setSANs(tmpl, hosts)

	issuer := ca
	alg := x509.SHA256WithRSA
	switch opts.Flaw {
	case FlawOtherCA:
		if issuer, err = untrustedCA(); err != nil {
			return nil, err
		}
	case FlawSHA1:
		alg = x509.SHA1WithRSA
	}
	var cert *x509.Certificate
	var chain []*x509.Certificate
	switch opts.Flaw {
	case FlawSelfSigned:
		cert, err = signWith(tmpl, &key.PublicKey, tmpl, key, alg)
	case FlawIncompleteChain, FlawChainOrder:
		var inter *CA
		if inter, err = ca.Intermediate(); err != nil {
			return nil, err
		}
		if cert, err = inter.sign(tmpl, key, alg); err != nil {
			return nil, err
		}
		chain = []*x509.Certificate{ca.Cert}
		if opts.Flaw == FlawChainOrder {
			chain = append(chain, inter.Cert)
		}
	default:
		cert, err = issuer.sign(tmpl, key, alg)
		if !opts.OmitChain {
			chain = []*x509.Certificate{issuer.Cert}
		}
	}
	if err != nil {
		return nil, err
	}

	if opts.Flaw == FlawExtraCert {
		other, err := untrustedCA()
		if err != nil {
			return nil, err
		}
		chain = append(chain, other.Cert)
	}
	enc := opts.Encoder
	if enc == nil {
		enc = pkcs12.LegacyDES
	}
	switch opts.Flaw {
	case FlawAESEncryption:
		enc = pkcs12.Modern2023
	case FlawWrongPassword:
		opts.Password = "not-" + opts.Password
	}
	var data []byte
	if opts.Flaw == FlawNoPrivateKey {
		data, err = enc.EncodeTrustStore(append([]*x509.Certificate{cert}, chain...), opts.Password)
	} else {
		data, err = enc.Encode(key, cert, chain, opts.Password)
	}
	if err != nil {
		return nil, fmt.Errorf("certs: encode PFX: %w", err)
	}
	return data, nil
}

// ReadPFX returns the leaf certificate of a PFX made by IssuePFX (or any PFX
// with one key), for tests that need its thumbprint or validity. A PFX
// without a key yields its first certificate.
func ReadPFX(data []byte, password string) (*x509.Certificate, error) {
	_, cert, _, err := pkcs12.DecodeChain(data, password)
	if err == nil {
		return cert, nil
	}
	certs, tsErr := pkcs12.DecodeTrustStore(data, password)
	if tsErr != nil || len(certs) == 0 {
		return nil, fmt.Errorf("certs: read PFX: %w", err)
	}
	return certs[0], nil
}
