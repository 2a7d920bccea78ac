package hub

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/runbook-dev/runbook/sim/certs"
	"software.sslmate.com/src/go-pkcs12"
)

const ehSecret = "/productPackages/microsoft.eventhub.1.2003.0.0/secrets/aseh-ssl-gateway-pfx"

func TestCertificateChecks(t *testing.T) {
	statePath := filepath.Join(t.TempDir(), "stamp.json")
	f := start(t, Options{StatePath: statePath})
	eh := func(flaw certs.Flaw) []byte {
		t.Helper()
		pfx, err := f.srv.ProductPFX("microsoft.eventhub", flaw, canaryPFXPassword)
		if err != nil {
			t.Fatal(err)
		}
		return pfx
	}
	sqlCert, err := f.srv.ProductPFX("microsoft.sqlrp", certs.FlawNone, canaryPFXPassword)
	if err != nil {
		t.Fatal(err)
	}
	ecdsaCert := ecdsaPFX(t, f.srv.CA(), "ecdsa")
	tests := map[string]struct {
		body     any
		wantCode string // "" = accepted
		wantText string // part of the message
	}{
		"good":                   {body: pfxBody(eh(certs.FlawNone), canaryPFXPassword)},
		"wrong password":         {body: pfxBody(eh(certs.FlawNone), "not-the-password"), wantCode: CodeInvalidCertificatePassword, wantText: "password"},
		"no private key":         {body: pfxBody(eh(certs.FlawNoPrivateKey), canaryPFXPassword), wantCode: CodeMissingPrivateKey, wantText: "no private key"},
		"weak key":               {body: pfxBody(eh(certs.FlawWeakKey), canaryPFXPassword), wantCode: CodeWeakKey, wantText: "1024 bits"},
		"ecdsa key":              {body: pfxBody(ecdsaCert, "ecdsa"), wantCode: CodeWeakKey, wantText: "requires an RSA key"},
		"sha1 signature":         {body: pfxBody(eh(certs.FlawSHA1), canaryPFXPassword), wantCode: CodeWeakSignature, wantText: "SHA1-RSA"},
		"wrong SAN":              {body: pfxBody(eh(certs.FlawWrongSAN), canaryPFXPassword), wantCode: CodeSANMismatch, wantText: certs.WrongSANHost},
		"another product's cert": {body: pfxBody(sqlCert, canaryPFXPassword), wantCode: CodeSANMismatch, wantText: "*.dbadapter.local.azurestack.external"},
		"not yet valid":          {body: pfxBody(eh(certs.FlawNotYetValid), canaryPFXPassword), wantCode: CodeNotYetValid, wantText: "not valid before"},
		"expired":                {body: pfxBody(eh(certs.FlawExpired), canaryPFXPassword), wantCode: CodeExpired, wantText: "expired at"},
		"self-signed":            {body: pfxBody(eh(certs.FlawSelfSigned), canaryPFXPassword), wantCode: CodeSelfSigned, wantText: "self-signed"},
		"other CA":               {body: pfxBody(eh(certs.FlawOtherCA), canaryPFXPassword), wantCode: CodeUntrustedRoot, wantText: certs.OtherCAName},
		"not a PFX":              {body: map[string]string{"data": base64.StdEncoding.EncodeToString([]byte("hello")), "password": canaryPFXPassword}, wantCode: CodeInvalidCertificate, wantText: "PKCS#12"},
		"not base64":             {body: map[string]string{"data": "%%%", "password": canaryPFXPassword}, wantCode: CodeInvalidRequestContent, wantText: "base64"},
		"no data":                {body: map[string]string{"password": canaryPFXPassword}, wantCode: CodeInvalidRequestContent, wantText: "'data'"},
		"not JSON":               {body: "just a string", wantCode: CodeInvalidRequestContent, wantText: "not valid JSON"},
	}
	f.do(http.MethodGet, f.arm("/productDeployments"), nil) // fetch the token before comparing states
	var outputs []string
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			for _, action := range []string{"/validate", "/import"} {
				before := f.srv.State()
				res := f.do(http.MethodPost, f.arm(ehSecret+action), tc.body)
				outputs = append(outputs, string(res.Body), res.Header.Get("WWW-Authenticate"))
				if tc.wantCode == "" {
					if res.Status != http.StatusOK || len(res.Body) != 0 {
						t.Fatalf("%s: %d %s, want 200 and no body", action, res.Status, res.Body)
					}
					continue
				}
				var e armErrorBody
				if res.Status == http.StatusBadRequest {
					e = decode[armErrorBody](t, res)
				}
				if res.Status != http.StatusBadRequest || e.Error.Code != tc.wantCode || !strings.Contains(e.Error.Message, tc.wantText) {
					t.Errorf("%s: %d %s, want 400 %s mentioning %q", action, res.Status, res.Body, tc.wantCode, tc.wantText)
				}
				if diff := cmp.Diff(before, f.srv.State()); diff != "" {
					t.Errorf("%s of a rejected certificate changed the state (-before +after):\n%s", action, diff)
				}
			}
		})
	}
	stateFile, err := os.ReadFile(statePath)
	if err != nil {
		t.Fatal(err)
	}
	assertNoCanary(t, "responses", outputs...)
	assertNoCanary(t, "request log", callsText(f.srv.Calls()))
	assertNoCanary(t, "state file", string(stateFile))
	if strings.Contains(string(stateFile), base64.StdEncoding.EncodeToString(eh(certs.FlawNone))[:40]) {
		t.Error("state file holds PFX bytes")
	}
}

func TestValidateAndImportState(t *testing.T) {
	f := start(t, Options{})
	pfx, err := f.srv.ProductPFX("microsoft.eventhub", certs.FlawNone, canaryPFXPassword)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := certs.ReadPFX(pfx, canaryPFXPassword)
	if err != nil {
		t.Fatal(err)
	}
	if res := f.do(http.MethodPost, f.arm(ehSecret+"/validate"), pfxBody(pfx, canaryPFXPassword)); res.Status != 200 {
		t.Fatalf("validate: %d %s", res.Status, res.Body)
	}
	sec := f.srv.State().Products[0].Secrets[0]
	if sec.Status != SecretDeployed || sec.Uploaded != nil || sec.Imports != 0 {
		t.Errorf("validate changed the secret: %+v", sec)
	}
	f.clk.Advance(90)
	if res := f.do(http.MethodPost, f.arm(strings.ToUpper(ehSecret)+"/import"), pfxBody(pfx, canaryPFXPassword)); res.Status != 200 {
		t.Fatalf("import: %d %s", res.Status, res.Body)
	}
	got := f.srv.State().Products[0].Secrets[0]
	want := sec
	want.Status, want.Imports = SecretUploaded, 1
	want.Uploaded = &CertInfo{
		ThumbprintSHA256: certs.SHA256Thumbprint(leaf), Subject: "CN=*.eventhub.local.azurestack.external",
		DNSNames: []string{"*.eventhub.local.azurestack.external"}, NotBefore: leaf.NotBefore, NotAfter: leaf.NotAfter,
		ImportedAt: epoch.Add(90),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("secret after import (-want +got):\n%s", diff)
	}
	api := decode[secretJSON](t, f.do(http.MethodGet, f.arm(ehSecret), nil))
	if api.Properties.SecretState.Status != SecretUploaded || api.Properties.SecretState.ExpirationDate != armTime(sec.ExpirationDate) {
		t.Errorf("secret over the API: %+v, want Uploaded with the old expiration date", api.Properties.SecretState)
	}
	if strings.Contains(strings.ToLower(string(f.do(http.MethodGet, f.arm(ehSecret), nil).Body)), "thumbprint") {
		t.Error("the secret resource exposes a thumbprint, which the real API has not")
	}
}

// ecdsaPFX returns a PFX with a P-256 key, otherwise acceptable to the
// stamp: certs makes RSA only, as the stamp requires.
func ecdsaPFX(t *testing.T, ca *certs.CA, password string) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(42), Subject: pkix.Name{CommonName: "ecdsa"},
		DNSNames:  []string{"*.eventhub.local.azurestack.external"},
		NotBefore: epoch.Add(-time.Hour), NotAfter: epoch.AddDate(1, 0, 0),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pfx, err := pkcs12.LegacyDES.Encode(key, cert, nil, password)
	if err != nil {
		t.Fatal(err)
	}
	return pfx
}

// TestPickLeaf covers PFX files whose first certificate is not the one the
// key belongs to.
func TestPickLeaf(t *testing.T) {
	ca, err := certs.NewCA("Leaf Order Root", epoch, epoch.AddDate(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.ClientCertificate("x", epoch, epoch.AddDate(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	got, rest := pickLeaf(leaf.Key, ca.Cert, []*x509.Certificate{leaf.Cert})
	if got != leaf.Cert || len(rest) != 1 || rest[0] != ca.Cert {
		t.Errorf("pickLeaf chose %v with %d others", got.Subject, len(rest))
	}
	if got, _ := pickLeaf(leaf.Key, ca.Cert, nil); got != nil {
		t.Error("pickLeaf matched a key to a foreign certificate")
	}
}
