package certs

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"time"
)

// DefaultCAName is the common name of the simulated stamp's root CA.
const DefaultCAName = "Azure Stack Hub Simulated Root CA"

// CA is a root certificate authority: a self-signed certificate and its RSA
// key. It issues the stamp's TLS certificates, the PFX files operators
// upload, and client certificates. A CA is safe for concurrent use.
type CA struct {
	// Cert is the self-signed root certificate.
	Cert *x509.Certificate
	// Key is the root's private key.
	Key *rsa.PrivateKey
}

// NewCA creates a root CA named name, valid from notBefore to notAfter. The
// key is the process-wide key for that CA name (see the package doc), so
// creating a CA is cheap after the first one of a name.
func NewCA(name string, notBefore, notAfter time.Time) (*CA, error) {
	if name == "" {
		return nil, errors.New("certs: CA name is empty")
	}
	if !notAfter.After(notBefore) {
		return nil, fmt.Errorf("certs: CA %q: notAfter %s is not after notBefore %s", name, notAfter, notBefore)
	}
	key, err := cachedKey("ca:"+name, KeyBits)
	if err != nil {
		return nil, err
	}
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: name, Organization: []string{"runbook simulated stamp"}},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		SubjectKeyId:          keyID(&key.PublicKey),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("certs: create CA %q: %w", name, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("certs: parse CA %q: %w", name, err)
	}
	return &CA{Cert: cert, Key: key}, nil
}

// ParseCA reads a CA from PEM: certPEM holds a CERTIFICATE block, keyPEM a
// PKCS#8 "PRIVATE KEY" or PKCS#1 "RSA PRIVATE KEY" block. It checks that the
// key belongs to the certificate and that the certificate is a CA.
func ParseCA(certPEM, keyPEM []byte) (*CA, error) {
	cb, _ := pem.Decode(certPEM)
	if cb == nil || cb.Type != "CERTIFICATE" {
		return nil, errors.New("certs: CA certificate: no CERTIFICATE PEM block")
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("certs: CA certificate: %w", err)
	}
	if !cert.IsCA {
		return nil, fmt.Errorf("certs: certificate %q is not a CA", cert.Subject.CommonName)
	}
	kb, _ := pem.Decode(keyPEM)
	if kb == nil {
		return nil, errors.New("certs: CA key: no PEM block")
	}
	var key *rsa.PrivateKey
	switch kb.Type {
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certs: CA key: %w", err)
		}
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("certs: CA key is %T, want RSA", k)
		}
		key = rk
	case "RSA PRIVATE KEY":
		if key, err = x509.ParsePKCS1PrivateKey(kb.Bytes); err != nil {
			return nil, fmt.Errorf("certs: CA key: %w", err)
		}
	default:
		return nil, fmt.Errorf("certs: CA key: unexpected PEM block %q", kb.Type)
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		return nil, fmt.Errorf("certs: CA key does not belong to certificate %q", cert.Subject.CommonName)
	}
	return &CA{Cert: cert, Key: key}, nil
}

// CertPEM returns the root certificate as a PEM CERTIFICATE block: the file
// a client is given as its CA bundle.
func (ca *CA) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw})
}

// KeyPEM returns the root key as a PKCS#8 PEM "PRIVATE KEY" block.
func (ca *CA) KeyPEM() ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(ca.Key)
	if err != nil {
		return nil, fmt.Errorf("certs: marshal CA key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// Pool returns a new certificate pool holding only the root certificate.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

// newSerial returns a random positive 127-bit serial number.
func newSerial() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("certs: serial number: %w", err)
	}
	return n.Add(n, big.NewInt(1)), nil
}

// keyID is the SHA-1 of the PKCS#1 public key, the classic subject key
// identifier (RFC 5280 §4.2.1.2 method 1).
func keyID(pub *rsa.PublicKey) []byte {
	h := sha1.Sum(x509.MarshalPKCS1PublicKey(pub))
	return h[:]
}

// IntermediateName is the common name of the issuing CA Intermediate
// returns.
const IntermediateName = "Azure Stack Hub Simulated Issuing CA"

var intermediates sync.Map // string(root DER) -> *CA

// Intermediate returns an issuing CA signed by ca, valid as long as ca, made
// once per root and process. Its Cert is not self-signed: a certificate it
// issues chains through it to ca.
func (ca *CA) Intermediate() (*CA, error) {
	if v, ok := intermediates.Load(string(ca.Cert.Raw)); ok {
		return v.(*CA), nil
	}
	key, err := cachedKey("intermediate", KeyBits)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: IntermediateName, Organization: []string{"runbook simulated stamp"}},
		NotBefore:             ca.Cert.NotBefore,
		NotAfter:              ca.Cert.NotAfter,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	cert, err := ca.sign(tmpl, key, x509.SHA256WithRSA)
	if err != nil {
		return nil, err
	}
	v, _ := intermediates.LoadOrStore(string(ca.Cert.Raw), &CA{Cert: cert, Key: key})
	return v.(*CA), nil
}
