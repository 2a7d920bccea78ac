package certs

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"software.sslmate.com/src/go-pkcs12"
)

// Leaf is an issued end-entity certificate with its key and the chain above
// it (without the leaf).
type Leaf struct {
	// Cert is the end-entity certificate.
	Cert *x509.Certificate
	// Key is its private key.
	Key *rsa.PrivateKey
	// Chain holds the issuing certificates, nearest first.
	Chain []*x509.Certificate
}

// PEM returns the certificate followed by its chain as CERTIFICATE blocks and
// then the key as a PKCS#8 "PRIVATE KEY" block: the single-file form that
// azidentity.ParseCertificates reads.
func (l *Leaf) PEM() ([]byte, error) {
	var b strings.Builder
	for _, c := range append([]*x509.Certificate{l.Cert}, l.Chain...) {
		b.Write(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
	}
	der, err := x509.MarshalPKCS8PrivateKey(l.Key)
	if err != nil {
		return nil, fmt.Errorf("certs: marshal key: %w", err)
	}
	b.Write(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	return []byte(b.String()), nil
}

// PFX returns the leaf, its chain and its key as a PKCS#12 file encrypted
// with password (TripleDES-SHA1, as Azure Stack Hub documents).
func (l *Leaf) PFX(password string) ([]byte, error) {
	data, err := pkcs12.LegacyDES.Encode(l.Key, l.Cert, l.Chain, password)
	if err != nil {
		return nil, fmt.Errorf("certs: encode PFX: %w", err)
	}
	return data, nil
}

// DefaultServerHosts returns the names a simulated stamp's TLS certificate
// covers: the loopback address and name, and the wildcard for the stamp's
// endpoints (*.<region>.<fqdn>: adminmanagement, adfs, login, …).
func DefaultServerHosts(region, fqdn string) []string {
	return []string{"127.0.0.1", "::1", "localhost", "*." + region + "." + fqdn}
}

// IssueServer issues a TLS server certificate for hosts, valid from
// notBefore to notAfter. Each host that parses as an IP address becomes an
// IP SAN, every other one a DNS SAN. The result carries the chain up to the
// root, ready for tls.Config.Certificates.
func (ca *CA) IssueServer(hosts []string, notBefore, notAfter time.Time) (tls.Certificate, error) {
	if len(hosts) == 0 {
		return tls.Certificate{}, errors.New("certs: server certificate needs at least one host")
	}
	key, err := cachedKey("server", KeyBits)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: hosts[0]},
		NotBefore:   notBefore,
		NotAfter:    notAfter,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	setSANs(tmpl, hosts)
	leaf, err := ca.sign(tmpl, key, x509.SHA256WithRSA)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{
		Certificate: [][]byte{leaf.Raw, ca.Cert.Raw},
		PrivateKey:  key,
		Leaf:        leaf,
	}, nil
}

// ClientCertificate issues a certificate for service-principal certificate
// authentication (client credentials with a signed JWT assertion), with
// subject CN=commonName, valid from notBefore to notAfter. Register
// Leaf.Cert with the simulated identity provider and give Leaf.Cert and
// Leaf.Key (or Leaf.PEM / Leaf.PFX) to the client.
func (ca *CA) ClientCertificate(commonName string, notBefore, notAfter time.Time) (*Leaf, error) {
	key, err := cachedKey("client", KeyBits)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: commonName},
		NotBefore:   notBefore,
		NotAfter:    notAfter,
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	cert, err := ca.sign(tmpl, key, x509.SHA256WithRSA)
	if err != nil {
		return nil, err
	}
	return &Leaf{Cert: cert, Key: key, Chain: []*x509.Certificate{ca.Cert}}, nil
}

// sign fills in the serial number and key identifiers of tmpl and signs it
// with the CA's key.
func (ca *CA) sign(tmpl *x509.Certificate, key *rsa.PrivateKey, alg x509.SignatureAlgorithm) (*x509.Certificate, error) {
	return signWith(tmpl, &key.PublicKey, ca.Cert, ca.Key, alg)
}

// signWith creates a certificate for pub from tmpl, issued by parent and
// signed with parentKey using alg. parent == tmpl makes it self-signed.
func signWith(tmpl *x509.Certificate, pub *rsa.PublicKey, parent *x509.Certificate, parentKey crypto.Signer, alg x509.SignatureAlgorithm) (*x509.Certificate, error) {
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	tmpl.SerialNumber = serial
	tmpl.SignatureAlgorithm = alg
	tmpl.SubjectKeyId = keyID(pub)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, parentKey)
	if err != nil {
		return nil, fmt.Errorf("certs: issue %q: %w", tmpl.Subject.CommonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("certs: parse %q: %w", tmpl.Subject.CommonName, err)
	}
	return cert, nil
}

// setSANs splits hosts into IP and DNS subject alternative names.
func setSANs(tmpl *x509.Certificate, hosts []string) {
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
}

// SHA256Thumbprint returns the SHA-256 of the certificate's DER encoding in
// upper-case hex, the form Windows shows as "Thumbprint" for SHA-256.
func SHA256Thumbprint(cert *x509.Certificate) string {
	h := sha256.Sum256(cert.Raw)
	return strings.ToUpper(hex.EncodeToString(h[:]))
}

// SHA1Thumbprint returns the SHA-1 of the certificate's DER encoding in
// upper-case hex: the classic Windows certificate thumbprint.
func SHA1Thumbprint(cert *x509.Certificate) string {
	h := sha1.Sum(cert.Raw)
	return strings.ToUpper(hex.EncodeToString(h[:]))
}
