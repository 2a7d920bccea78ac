package steps

import (
	"crypto/x509"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/runbook-dev/runbook/sim/certs"
	"software.sslmate.com/src/go-pkcs12"
)

const testHost = "*.eventhub.east.contoso.com"

func testCA(t *testing.T) *certs.CA {
	t.Helper()
	ca, err := certs.NewCA(certs.DefaultCAName, time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func TestProductHost(t *testing.T) {
	type result struct {
		Host, Why string
		OK        bool
	}
	tests := map[string]struct {
		product, endpoint string
		want              result
	}{
		"event hubs": {"microsoft.eventhub", "https://adminmanagement.east.contoso.com", result{Host: "*.eventhub.east.contoso.com", OK: true}},
		"sql, upper case and port": {"Microsoft.SQLRP", "https://AdminManagement.Local.AzureStack.External:443/",
			result{Host: "*.dbadapter.local.azurestack.external", OK: true}},
		"mysql": {"microsoft.mysqlrp", "https://adminmanagement.r1.example.org", result{Host: "*.dbadapter.r1.example.org", OK: true}},
		"unknown product": {"microsoft.iothubpreview", "https://adminmanagement.east.contoso.com",
			result{Why: `runbook does not know which host name product "microsoft.iothubpreview" needs`}},
		"address endpoint": {"microsoft.eventhub", "https://127.0.0.1:8443",
			result{Why: `the hub endpoint's host "127.0.0.1" is not of the form adminmanagement.<region>.<fqdn>, so the stamp's region and domain are unknown`}},
		"region only": {"microsoft.eventhub", "https://adminmanagement.local",
			result{Why: `the hub endpoint's host "adminmanagement.local" is not of the form adminmanagement.<region>.<fqdn>, so the stamp's region and domain are unknown`}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			host, why, ok := productHost(tc.product, tc.endpoint)
			if diff := cmp.Diff(tc.want, result{host, why, ok}); diff != "" {
				t.Errorf("productHost (-want +got):\n%s", diff)
			}
		})
	}
}

func TestProductOfPackage(t *testing.T) {
	tests := map[string]string{
		"microsoft.eventhub.1.2003.0.0": "microsoft.eventhub",
		"microsoft.sqlrp.2.0.0.2":       "microsoft.sqlrp",
		"microsoft.eventhub":            "microsoft.eventhub",
		"vendor.product2.10":            "vendor.product2",
		"7.1":                           "7",
	}
	for pkg, want := range tests {
		t.Run(pkg, func(t *testing.T) {
			if got := productOfPackage(pkg); got != want {
				t.Errorf("productOfPackage(%q) = %q, want %q", pkg, got, want)
			}
		})
	}
}

func TestEvidence(t *testing.T) {
	ca := testCA(t)
	now := time.Date(2026, 11, 28, 22, 0, 0, 0, time.UTC)
	tests := map[string]struct {
		opts      certs.PFXOptions
		wantChain string
		wantKey   bool
		wantDays  int
	}{
		"with chain":  {opts: certs.PFXOptions{}, wantChain: ChainComplete, wantKey: true, wantDays: 365},
		"leaf only":   {opts: certs.PFXOptions{OmitChain: true}, wantChain: ChainLeafOnly, wantKey: true, wantDays: 365},
		"self-signed": {opts: certs.PFXOptions{Flaw: certs.FlawSelfSigned}, wantChain: ChainSelfSigned, wantKey: true, wantDays: 365},
		"no key":      {opts: certs.PFXOptions{Flaw: certs.FlawNoPrivateKey}, wantChain: ChainComplete, wantDays: 365},
		"expired":     {opts: certs.PFXOptions{Flaw: certs.FlawExpired}, wantChain: ChainComplete, wantKey: true, wantDays: -1},
		"modern encryption": {opts: certs.PFXOptions{Encoder: pkcs12.Modern, NotAfter: now.Add(36*time.Hour + time.Minute)},
			wantChain: ChainComplete, wantKey: true, wantDays: 1},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			tc.opts.Hosts, tc.opts.Now, tc.opts.Password = []string{testHost}, now, "pw"
			data, err := ca.IssuePFX(tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			p, err := OpenPFX(data, "pw")
			if err != nil {
				t.Fatal(err)
			}
			leaf, err := certs.ReadPFX(data, "pw")
			if err != nil {
				t.Fatal(err)
			}
			want := &Evidence{
				Subject: "CN=" + testHost, SANs: []string{testHost}, Issuer: "CN=" + certs.DefaultCAName + ",O=runbook simulated stamp",
				NotBefore: leaf.NotBefore, NotAfter: leaf.NotAfter, DaysLeft: tc.wantDays,
				SHA256: certs.SHA256Thumbprint(leaf), KeyType: "RSA", KeySize: 2048, Chain: tc.wantChain,
			}
			if tc.wantChain == ChainSelfSigned {
				want.Issuer = want.Subject
			}
			if diff := cmp.Diff(want, p.Evidence(now)); diff != "" {
				t.Errorf("evidence (-want +got):\n%s", diff)
			}
			if p.HasKey != tc.wantKey {
				t.Errorf("HasKey = %v, want %v", p.HasKey, tc.wantKey)
			}
		})
	}
}

// TestOpenPFXLeafFirst checks that the leaf is the certificate the key
// belongs to, even when the PFX lists the root first.
func TestOpenPFXLeafFirst(t *testing.T) {
	ca := testCA(t)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	data, err := ca.IssuePFX(certs.PFXOptions{Hosts: []string{testHost}, Now: now, Password: "pw"})
	if err != nil {
		t.Fatal(err)
	}
	key, leaf, chain, err := pkcs12.DecodeChain(data, "pw")
	if err != nil {
		t.Fatal(err)
	}
	reordered, err := pkcs12.LegacyDES.Encode(key, chain[0], []*x509.Certificate{leaf}, "pw")
	if err != nil {
		t.Fatal(err)
	}
	p, err := OpenPFX(reordered, "pw")
	if err != nil {
		t.Fatal(err)
	}
	if !p.Leaf.Equal(leaf) || len(p.CACert) != 1 || !p.CACert[0].Equal(ca.Cert) {
		t.Errorf("leaf %q, chain %d certificates; want the key's certificate %q and the root", p.Leaf.Subject, len(p.CACert), leaf.Subject)
	}
}

func TestOpenPFXErrors(t *testing.T) {
	ca := testCA(t)
	data, err := ca.IssuePFX(certs.PFXOptions{Hosts: []string{testHost}, Now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Password: "right"})
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		data     []byte
		password string
		want     error
	}{
		"wrong password": {data, "wrong", ErrPFXPassword},
		"empty password": {data, "", ErrPFXPassword},
		"not a PFX":      {[]byte("hello"), "right", ErrNotPFX},
		"truncated":      {data[:len(data)/2], "right", ErrNotPFX},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := OpenPFX(tc.data, tc.password)
			if !errors.Is(err, tc.want) {
				t.Errorf("OpenPFX error = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestHumanDuration(t *testing.T) {
	tests := map[time.Duration]string{
		4 * time.Hour: "4h", 15 * time.Minute: "15m", 90 * time.Minute: "1h30m", 30 * time.Second: "30s",
	}
	for d, want := range tests {
		if got := humanDuration(d); got != want {
			t.Errorf("humanDuration(%s) = %q, want %q", d, got, want)
		}
	}
}
