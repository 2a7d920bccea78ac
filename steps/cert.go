package steps

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/runbook-dev/runbook/certcheck"
	"github.com/zclconf/go-cty/cty"
	"software.sslmate.com/src/go-pkcs12"
)

// Evidence is what plan shows about a certificate before it is sent to a
// stamp: enough for a reviewer (and a policy) to judge it without opening
// the PFX.
type Evidence struct {
	Subject   string
	SANs      []string
	Issuer    string
	NotBefore time.Time
	NotAfter  time.Time
	// DaysLeft is the number of whole days from the clock's now to
	// NotAfter; negative once expired.
	DaysLeft int
	// SHA256 is the SHA-256 of the certificate's DER encoding in plain
	// upper-case hex without separators: the form Windows shows as a
	// SHA-256 thumbprint and the form the simulated stamp records, so the
	// two can be compared as strings.
	SHA256 string
	// KeyType is RSA, ECDSA or Ed25519; KeySize the key's size in bits.
	KeyType string
	KeySize int
	// Chain is ChainComplete, ChainIncomplete, ChainLeafOnly or
	// ChainSelfSigned.
	Chain string
}

// The values of Evidence.Chain: what the PFX carries besides the leaf.
const (
	// ChainComplete: the PFX holds the chain up to a self-signed root and
	// the leaf verifies against it.
	ChainComplete = "complete"
	// ChainIncomplete: the PFX holds CA certificates that do not lead from
	// the leaf to a root.
	ChainIncomplete = "incomplete"
	// ChainLeafOnly: the PFX holds the leaf alone.
	ChainLeafOnly = "leaf only"
	// ChainSelfSigned: the leaf signed itself.
	ChainSelfSigned = "self-signed"
)

// EvidenceType is the cty type of Evidence.Value, the `certificate`
// attribute of a product_secret step.
var EvidenceType = cty.Object(map[string]cty.Type{
	"subject":    cty.String,
	"sans":       cty.List(cty.String),
	"issuer":     cty.String,
	"not_before": cty.String,
	"not_after":  cty.String,
	"days_left":  cty.Number,
	"sha256":     cty.String,
	"key_type":   cty.String,
	"key_size":   cty.Number,
	"chain":      cty.String,
})

// Value returns the evidence as a cty object of EvidenceType; times are
// RFC 3339 in UTC.
func (e *Evidence) Value() cty.Value {
	sans := cty.ListValEmpty(cty.String)
	if len(e.SANs) > 0 {
		vals := make([]cty.Value, len(e.SANs))
		for i, s := range e.SANs {
			vals[i] = cty.StringVal(s)
		}
		sans = cty.ListVal(vals)
	}
	return cty.ObjectVal(map[string]cty.Value{
		"subject":    cty.StringVal(e.Subject),
		"sans":       sans,
		"issuer":     cty.StringVal(e.Issuer),
		"not_before": cty.StringVal(rfc3339(e.NotBefore)),
		"not_after":  cty.StringVal(rfc3339(e.NotAfter)),
		"days_left":  cty.NumberIntVal(int64(e.DaysLeft)),
		"sha256":     cty.StringVal(e.SHA256),
		"key_type":   cty.StringVal(e.KeyType),
		"key_size":   cty.NumberIntVal(int64(e.KeySize)),
		"chain":      cty.StringVal(e.Chain),
	})
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// PFX is an opened PKCS#12 file: the leaf certificate, the CA certificates
// it carries, and whether it holds a private key. The key itself is not
// kept: only the stamp needs it.
type PFX struct {
	Leaf   *x509.Certificate
	CACert []*x509.Certificate
	HasKey bool
}

// Errors of OpenPFX.
var (
	// ErrPFXPassword: the password does not open the PFX.
	ErrPFXPassword = errors.New("the password does not open the PFX file")
	// ErrNotPFX: the file is not a PKCS#12 file runbook can read.
	ErrNotPFX = errors.New("the file is not a PFX (PKCS#12) file")
)

// OpenPFX opens a PFX with go-pkcs12's DecodeChain. DecodeChain takes the
// first certificate as the leaf, which a Windows export need not honour, so
// the leaf is the certificate the private key belongs to (as the simulated
// stamp does too) and the others are the chain. A PFX that opens but has no
// private key is returned with HasKey false and its first certificate as
// the leaf, so the caller can say exactly that. Errors wrap ErrPFXPassword
// or ErrNotPFX; they never contain the password.
func OpenPFX(data []byte, password string) (*PFX, error) {
	key, leaf, cas, err := pkcs12.DecodeChain(data, password)
	if err == nil {
		return withKey(key, leaf, cas), nil
	}
	if errors.Is(err, pkcs12.ErrIncorrectPassword) || errors.Is(err, pkcs12.ErrDecryption) {
		return nil, ErrPFXPassword
	}
	if strings.Contains(err.Error(), "private key missing") {
		certs, tsErr := pkcs12.DecodeTrustStore(data, password)
		if tsErr == nil && len(certs) > 0 {
			return &PFX{Leaf: certs[0], CACert: certs[1:]}, nil
		}
	}
	// go-pkcs12's other messages describe the structure, never the input.
	return nil, fmt.Errorf("%w (%s)", ErrNotPFX, strings.TrimPrefix(err.Error(), "pkcs12: "))
}

// withKey orders the certificates so that the one key belongs to is the
// leaf; if none matches, DecodeChain's order stands.
func withKey(key any, leaf *x509.Certificate, cas []*x509.Certificate) *PFX {
	all := append([]*x509.Certificate{leaf}, cas...)
	if signer, ok := key.(crypto.Signer); ok {
		pub, _ := signer.Public().(interface{ Equal(crypto.PublicKey) bool })
		for i, c := range all {
			if pub != nil && pub.Equal(c.PublicKey) {
				rest := append(append([]*x509.Certificate(nil), all[:i]...), all[i+1:]...)
				return &PFX{Leaf: c, CACert: rest, HasKey: true}
			}
		}
	}
	return &PFX{Leaf: leaf, CACert: cas, HasKey: true}
}

// Evidence describes the PFX's leaf certificate as of now.
func (p *PFX) Evidence(now time.Time) *Evidence {
	c := p.Leaf
	sum := sha256.Sum256(c.Raw)
	e := &Evidence{
		Subject:   c.Subject.String(),
		SANs:      sans(c),
		Issuer:    c.Issuer.String(),
		NotBefore: c.NotBefore.UTC(),
		NotAfter:  c.NotAfter.UTC(),
		DaysLeft:  int(math.Floor(c.NotAfter.Sub(now).Hours() / 24)),
		SHA256:    strings.ToUpper(hex.EncodeToString(sum[:])),
		Chain:     p.chain(),
	}
	e.KeyType, e.KeySize = certcheck.KeyInfo(c)
	return e
}

// SelfSigned reports whether the leaf is signed by its own key.
func (p *PFX) SelfSigned() bool { return selfSigned(p.Leaf) }

// selfSigned reports whether c names itself as issuer and its signature
// verifies with its own key. CheckSignatureFrom would also demand that c be
// a CA, which a self-signed leaf is not.
func selfSigned(c *x509.Certificate) bool {
	return bytes.Equal(c.RawIssuer, c.RawSubject) &&
		c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) == nil
}

// chain classifies what the PFX carries besides the leaf. Validity dates
// are not judged here (the expiry checks do that), only the signatures.
func (p *PFX) chain() string {
	if p.SelfSigned() {
		return ChainSelfSigned
	}
	if len(p.CACert) == 0 {
		return ChainLeafOnly
	}
	roots, inter := x509.NewCertPool(), x509.NewCertPool()
	for _, c := range p.CACert {
		if selfSigned(c) {
			roots.AddCert(c)
		} else {
			inter.AddCert(c)
		}
	}
	_, err := p.Leaf.Verify(x509.VerifyOptions{
		Roots: roots, Intermediates: inter,
		CurrentTime: p.Leaf.NotBefore.Add(p.Leaf.NotAfter.Sub(p.Leaf.NotBefore) / 2),
		KeyUsages:   []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	if err != nil {
		return ChainIncomplete
	}
	return ChainComplete
}

// VerifyTrust checks that the leaf chains, through the PFX's own CA
// certificates, to one of roots at time now.
func (p *PFX) VerifyTrust(roots []*x509.Certificate, now time.Time) error {
	pool, inter := x509.NewCertPool(), x509.NewCertPool()
	for _, r := range roots {
		pool.AddCert(r)
	}
	for _, c := range p.CACert {
		inter.AddCert(c)
	}
	_, err := p.Leaf.Verify(x509.VerifyOptions{
		Roots: pool, Intermediates: inter, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	return err
}

func sans(c *x509.Certificate) []string {
	out := append([]string(nil), c.DNSNames...)
	for _, ip := range c.IPAddresses {
		out = append(out, ip.String())
	}
	return out
}
