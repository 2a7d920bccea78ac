package certs

import (
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/google/go-cmp/cmp"
	"github.com/runbook-dev/runbook/clock"
	"software.sslmate.com/src/go-pkcs12"
)

var epoch = time.Date(2026, 11, 28, 22, 0, 0, 0, time.UTC)

const ehHost = "*.eventhub.local.azurestack.external"

func testCA(t *testing.T) *CA {
	t.Helper()
	ca, err := NewCA("Test Root", epoch.Add(-time.Hour), epoch.AddDate(5, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func TestCAPEMRoundTrip(t *testing.T) {
	ca := testCA(t)
	keyPEM, err := ca.KeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseCA(ca.CertPEM(), keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Cert.Raw, ca.Cert.Raw) || !got.Key.Equal(ca.Key) {
		t.Fatal("ParseCA did not return the CA that was encoded")
	}
	other, err := NewCA("Another Root", epoch, epoch.AddDate(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	otherKey, _ := other.KeyPEM()
	if _, err := ParseCA(ca.CertPEM(), otherKey); err == nil || !strings.Contains(err.Error(), "does not belong") {
		t.Errorf("ParseCA with a foreign key: err = %v, want a key mismatch", err)
	}
	if _, err := ParseCA([]byte("junk"), keyPEM); err == nil {
		t.Error("ParseCA accepted a certificate that is not PEM")
	}
}

func TestLoadOrCreateCA(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sim")
	c := clock.NewFake(epoch)
	first, err := LoadOrCreateCA(dir, c)
	if err != nil {
		t.Fatal(err)
	}
	wantFrom, wantTo := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), epoch.Add(CAValidity)
	if !first.Cert.NotBefore.Equal(wantFrom) || !first.Cert.NotAfter.Equal(wantTo) {
		t.Errorf("validity %v to %v, want %v to %v", first.Cert.NotBefore, first.Cert.NotAfter, wantFrom, wantTo)
	}
	if runtime.GOOS != "windows" {
		for name, want := range map[string]os.FileMode{CAKeyFile: 0o600, CACertFile: 0o644} {
			fi, err := os.Stat(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode().Perm(); got != want {
				t.Errorf("%s mode = %v, want %v", name, got, want)
			}
		}
	}
	second, err := LoadOrCreateCA(dir, c)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first.Cert.Raw, second.Cert.Raw) {
		t.Error("second LoadOrCreateCA made a new CA instead of loading the first")
	}

	if err := os.Remove(filepath.Join(dir, CAKeyFile)); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateCA(dir, c); err == nil || !strings.Contains(err.Error(), "incomplete") {
		t.Errorf("LoadOrCreateCA with the key missing: err = %v, want incomplete", err)
	}
}

func TestLoadOrCreateCAConcurrent(t *testing.T) {
	dir := t.TempDir()
	c := clock.NewFake(epoch)
	const n = 4
	cas := make([]*CA, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			ca, err := LoadOrCreateCA(dir, c)
			if err != nil {
				t.Error(err)
				return
			}
			cas[i] = ca
		})
	}
	wg.Wait()
	for i := 1; i < n; i++ {
		if cas[i] == nil || cas[0] == nil || !bytes.Equal(cas[i].Cert.Raw, cas[0].Cert.Raw) {
			t.Fatal("concurrent LoadOrCreateCA callers got different CAs")
		}
	}
}

func TestIssueServer(t *testing.T) {
	ca := testCA(t)
	tc, err := ca.IssueServer(DefaultServerHosts("local", "azurestack.external"), epoch.Add(-time.Hour), epoch.AddDate(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"127.0.0.1", "localhost", "adminmanagement.local.azurestack.external", "adfs.local.azurestack.external"} {
		_, err := tc.Leaf.Verify(x509.VerifyOptions{
			DNSName: name, Roots: ca.Pool(), CurrentTime: epoch,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		})
		if err != nil {
			t.Errorf("verify for %s: %v", name, err)
		}
	}
	if err := tc.Leaf.VerifyHostname("management.other.azurestack.external"); err == nil {
		t.Error("server certificate covers a host of another region")
	}
	if len(tc.Certificate) != 2 {
		t.Errorf("chain length = %d, want leaf and root", len(tc.Certificate))
	}
}

// pfxFacts are the properties of a decoded PFX that the flaws change.
type pfxFacts struct {
	Opens       bool
	HasKey      bool
	DNSNames    []string
	Expired     bool
	NotYetValid bool
	DaysLeft    int
	SelfSigned  bool
	ChainsToCA  bool
	SigAlg      string
	KeyBits     int
	// Others are the common names of the PFX's other certificates, in
	// file order.
	Others          []string
	KeyEncipherment bool
	ClientAuth      bool
	AES             bool
}

// oidPBES2 in DER, which only a PBES2 (AES) PFX contains.
var oidPBES2 = []byte{0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0d}

func factsOf(t *testing.T, ca *CA, data []byte, password string) pfxFacts {
	t.Helper()
	f := pfxFacts{AES: bytes.Contains(data, oidPBES2)}
	key, cert, others, err := pkcs12.DecodeChain(data, password)
	switch {
	case errors.Is(err, pkcs12.ErrIncorrectPassword):
		return f
	case err == nil:
		f.HasKey = true
		if !key.(*rsa.PrivateKey).PublicKey.Equal(cert.PublicKey) {
			t.Fatal("PFX key does not match its certificate")
		}
	default:
		if cert, err = ReadPFX(data, password); err != nil {
			t.Fatal(err)
		}
	}
	f.Opens = true
	for _, o := range others {
		f.Others = append(f.Others, o.Subject.CommonName)
	}
	f.DNSNames = cert.DNSNames
	f.Expired = epoch.After(cert.NotAfter)
	f.NotYetValid = epoch.Before(cert.NotBefore)
	f.DaysLeft = int(cert.NotAfter.Sub(epoch).Hours() / 24)
	f.SelfSigned = cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature) == nil && bytes.Equal(cert.RawIssuer, cert.RawSubject)
	f.ChainsToCA = cert.CheckSignatureFrom(ca.Cert) == nil
	f.SigAlg = cert.SignatureAlgorithm.String()
	f.KeyBits = cert.PublicKey.(*rsa.PublicKey).N.BitLen()
	f.KeyEncipherment = cert.KeyUsage&x509.KeyUsageKeyEncipherment != 0
	for _, u := range cert.ExtKeyUsage {
		f.ClientAuth = f.ClientAuth || u == x509.ExtKeyUsageClientAuth
	}
	return f
}

func TestIssuePFXFlaws(t *testing.T) {
	ca := testCA(t)
	root := ca.Cert.Subject.CommonName
	good := pfxFacts{Opens: true, HasKey: true, DNSNames: []string{ehHost}, ChainsToCA: true, SigAlg: "SHA256-RSA", KeyBits: 2048,
		DaysLeft: 365, Others: []string{root}, KeyEncipherment: true, ClientAuth: true}
	with := func(edit func(*pfxFacts)) pfxFacts { f := good; edit(&f); return f }
	tests := map[Flaw]pfxFacts{
		FlawNone:         good,
		FlawWrongSAN:     with(func(f *pfxFacts) { f.DNSNames = []string{WrongSANHost} }),
		FlawExpired:      with(func(f *pfxFacts) { f.Expired, f.DaysLeft = true, -1 }),
		FlawNotYetValid:  with(func(f *pfxFacts) { f.NotYetValid, f.DaysLeft = true, 366 }),
		FlawSelfSigned:   with(func(f *pfxFacts) { f.SelfSigned, f.ChainsToCA, f.Others = true, false, nil }),
		FlawOtherCA:      with(func(f *pfxFacts) { f.ChainsToCA, f.Others = false, []string{OtherCAName} }),
		FlawNoPrivateKey: with(func(f *pfxFacts) { f.HasKey, f.Others = false, nil }), // ReadPFX gives the leaf alone
		// CheckSignatureFrom refuses SHA-1, so the chain looks broken too.
		FlawSHA1:            with(func(f *pfxFacts) { f.SigAlg, f.ChainsToCA = "SHA1-RSA", false }),
		FlawWeakKey:         with(func(f *pfxFacts) { f.KeyBits = 1024 }),
		FlawWrongPassword:   {},
		FlawIncompleteChain: with(func(f *pfxFacts) { f.ChainsToCA = false }),
		FlawChainOrder:      with(func(f *pfxFacts) { f.ChainsToCA, f.Others = false, []string{root, IntermediateName} }),
		FlawExtraCert:       with(func(f *pfxFacts) { f.Others = []string{root, OtherCAName} }),
		FlawKeyUsage:        with(func(f *pfxFacts) { f.KeyEncipherment = false }),
		FlawNoClientAuth:    with(func(f *pfxFacts) { f.ClientAuth = false }),
		FlawExpiresSoon:     with(func(f *pfxFacts) { f.DaysLeft = 3 }),
		FlawAESEncryption:   with(func(f *pfxFacts) { f.AES = true }),
	}
	for flaw, want := range tests {
		t.Run(flaw.String(), func(t *testing.T) {
			data, err := ca.IssuePFX(PFXOptions{Hosts: []string{ehHost}, Now: epoch, Password: "Pa55w.rd!x", Flaw: flaw})
			if err != nil {
				t.Fatal(err)
			}
			if _, _, _, err := pkcs12.DecodeChain(data, "wrong password"); !errors.Is(err, pkcs12.ErrIncorrectPassword) {
				t.Errorf("decode with a wrong password: err = %v, want ErrIncorrectPassword", err)
			}
			got := factsOf(t, ca, data, "Pa55w.rd!x")
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("PFX facts (-want +got):\n%s", diff)
			}
		})
	}
	if len(tests) != len(Flaws())+1 {
		t.Errorf("table covers %d flaws, package has %d", len(tests)-1, len(Flaws()))
	}
}

func TestIssuePFXOptions(t *testing.T) {
	ca := testCA(t)
	if _, err := ca.IssuePFX(PFXOptions{Hosts: []string{ehHost}}); err == nil {
		t.Error("IssuePFX without Now succeeded")
	}
	if _, err := ca.IssuePFX(PFXOptions{Now: epoch}); err == nil {
		t.Error("IssuePFX without hosts succeeded")
	}
	na := epoch.AddDate(0, 6, 0)
	data, err := ca.IssuePFX(PFXOptions{Hosts: []string{ehHost}, Now: epoch, NotAfter: na, Password: "x", Encoder: pkcs12.Modern, OmitChain: true})
	if err != nil {
		t.Fatal(err)
	}
	_, cert, chain, err := pkcs12.DecodeChain(data, "x")
	if err != nil {
		t.Fatal(err)
	}
	if !cert.NotAfter.Equal(na) || len(chain) != 0 {
		t.Errorf("NotAfter = %v, chain = %d certs; want %v and none", cert.NotAfter, len(chain), na)
	}
}

func TestFlawNames(t *testing.T) {
	for _, f := range append(Flaws(), FlawNone) {
		got, err := ParseFlaw(strings.ToUpper(f.String()))
		if err != nil || got != f {
			t.Errorf("ParseFlaw(%q) = %v, %v", f, got, err)
		}
	}
	if _, err := ParseFlaw("rotten"); err == nil {
		t.Error("ParseFlaw accepted an unknown name")
	}
}

func TestClientCertificateWithAzidentity(t *testing.T) {
	ca := testCA(t)
	leaf, err := ca.ClientCertificate("runbook-automation", epoch, epoch.AddDate(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	pemData, err := leaf.PEM()
	if err != nil {
		t.Fatal(err)
	}
	pfxData, err := leaf.PFX("pfx-pass")
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		data     []byte
		password []byte
	}{
		"pem": {data: pemData},
		"pfx": {data: pfxData, password: []byte("pfx-pass")},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			certs, key, err := azidentity.ParseCertificates(tc.data, tc.password)
			if err != nil {
				t.Fatal(err)
			}
			if len(certs) == 0 || !bytes.Equal(certs[0].Raw, leaf.Cert.Raw) {
				t.Fatal("first certificate is not the client certificate")
			}
			if !key.(*rsa.PrivateKey).Equal(leaf.Key) {
				t.Error("key differs from the client certificate's key")
			}
		})
	}
	if got := len(SHA1Thumbprint(leaf.Cert)); got != 40 {
		t.Errorf("SHA-1 thumbprint has %d hex digits", got)
	}
	if got := len(SHA256Thumbprint(leaf.Cert)); got != 64 {
		t.Errorf("SHA-256 thumbprint has %d hex digits", got)
	}
}
