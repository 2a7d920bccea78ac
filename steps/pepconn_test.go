package steps

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	"github.com/runbook-dev/runbook/lang"
	"github.com/runbook-dev/runbook/pep"
	simpep "github.com/runbook-dev/runbook/sim/pep"
	simwsman "github.com/runbook-dev/runbook/sim/wsman"
)

// startPEP starts a simulated PEP with the PEP-test account.
func startPEP(t *testing.T, wc simwsman.Config) *simpep.Endpoint {
	t.Helper()
	wc.Username, wc.Password = pepUser, canaryPEPPassword
	ep, err := simpep.Start(simpep.Config{}, wc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ep.Close() })
	return ep
}

// loadPEPRunbook loads a runbook of one pep block "east" with the given
// body (the password is appended) from dir.
func loadPEPRunbook(t *testing.T, dir, body string) *lang.Runbook {
	t.Helper()
	src := fmt.Sprintf("pep \"east\" {\n%s\n  password = sensitive(%q)\n}\n", body, canaryPEPPassword)
	rb, diags := lang.Load(fstest.MapFS{"main.runbook.hcl": {Data: []byte(src)}}, ".", lang.Options{})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	rb.Dir = dir
	return rb
}

// stampInfo runs Get-AzureStackStampInformation on s and closes it.
func stampInfo(t *testing.T, s pep.Session) string {
	t.Helper()
	ctx := context.Background()
	defer func() {
		if err := s.Close(ctx); err != nil {
			t.Error(err)
		}
	}()
	res, err := s.Invoke(ctx, pep.Call{Cmdlet: "Get-AzureStackStampInformation"})
	if err != nil {
		t.Fatal(err)
	}
	objs := res.Objects()
	if len(objs) != 1 {
		t.Fatalf("%d objects", len(objs))
	}
	m, _ := objs[0].(map[string]any)
	region, _ := m["RegionName"].(string)
	return region
}

// TestConnsDialPEP dials through Conns as a PEPSource with the runbook
// pointing straight at the simulator,
// and checks that the client's log reaches the Conns logger without the
// password.
func TestConnsDialPEP(t *testing.T) {
	ep := startPEP(t, simwsman.Config{Auth: simwsman.AuthNegotiate, Sealing: simwsman.SealRequired})
	rb := loadPEPRunbook(t, t.TempDir(), fmt.Sprintf(`
  addresses = [%q]
  port      = %d
  username  = "AZURESTACK\\CloudAdmin"`, ep.WSMan.Host(), ep.WSMan.Port()))
	log := &logLines{}
	c := NewConns(rb, ConnOptions{Logger: log.logf})
	s, err := c.PEP(context.Background(), "east")
	if err != nil {
		t.Fatal(err)
	}
	if got := stampInfo(t, s); got != "local" {
		t.Errorf("RegionName = %q, want local", got)
	}
	if !strings.Contains(log.String(), "Get-AzureStackStampInformation") {
		t.Errorf("the client's debug lines did not reach the logger:\n%s", log.String())
	}
	if strings.Contains(log.String(), "time=") {
		t.Errorf("log lines carry the wall-clock time:\n%s", log.String())
	}
	assertNoCanary(t, "the log", log.String())
	if _, err := c.PEP(context.Background(), "west"); err == nil || err.Error() != "pep west: there is no pep block of that name" {
		t.Errorf("unknown block: %v", err)
	}
}

// TestPEPDialerHTTPSWithCAFile checks that ca_file is read relative to the
// runbook directory, and that a missing one is a clear error.
func TestPEPDialerHTTPSWithCAFile(t *testing.T) {
	ep := startPEP(t, simwsman.Config{Auth: simwsman.AuthNegotiate, TLS: true})
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "certs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "certs", "root.pem"), ep.WSMan.CACertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	body := fmt.Sprintf(`
  addresses = [%q]
  port      = %d
  https     = true
  ca_file   = "certs/root.pem"
  username  = "AZURESTACK\\CloudAdmin"`, ep.WSMan.Host(), ep.WSMan.Port())
	d := NewPEPDialer(loadPEPRunbook(t, dir, body), PEPOptions{})
	s, err := d.Dial(context.Background(), "east")
	if err != nil {
		t.Fatal(err)
	}
	if got := stampInfo(t, s); got != "local" {
		t.Errorf("RegionName = %q", got)
	}

	d = NewPEPDialer(loadPEPRunbook(t, t.TempDir(), body), PEPOptions{})
	_, err = d.Dial(context.Background(), "east")
	if err == nil || !strings.HasPrefix(err.Error(), "pep east: ca_file: ") {
		t.Errorf("missing ca_file: %v", err)
	}
}

// TestPEPTargetOverride checks what -simulate's redirect changes in the
// configuration built from a pep block, and what it keeps.
func TestPEPTargetOverride(t *testing.T) {
	body := `
  addresses = ["10.0.0.224", "10.0.0.225"]
  username  = "AZURESTACK\\CloudAdmin"
  https     = true
  insecure  = true
  ca_file   = "missing.pem"
  configuration_name = "PrivilegedEndpoint"`
	rb := loadPEPRunbook(t, t.TempDir(), body)
	type view struct {
		Addresses          []string
		Port               int
		HTTPS, Insecure    bool
		CAPEM              string
		Auth               pep.Auth
		Username, Password string
		Configuration      string
	}
	tests := map[string]struct {
		target PEPTarget
		want   view
	}{
		"keeps the runbook's credentials": {
			target: PEPTarget{Addresses: []string{"127.0.0.1"}, Port: 5985, Auth: pep.AuthBasic},
			want: view{Addresses: []string{"127.0.0.1"}, Port: 5985, Auth: pep.AuthBasic,
				Username: pepUser, Password: canaryPEPPassword, Configuration: "PrivilegedEndpoint"},
		},
		"replaces them and trusts the simulator's CA": {
			target: PEPTarget{Addresses: []string{"127.0.0.1", "127.0.0.2"}, Port: 45986, HTTPS: true, CAPEM: []byte("PEM"),
				Auth: pep.AuthNTLM, Username: "SIM\\CloudAdmin", Password: "sim-password"},
			want: view{Addresses: []string{"127.0.0.1", "127.0.0.2"}, Port: 45986, HTTPS: true, CAPEM: "PEM",
				Auth: pep.AuthNTLM, Username: "SIM\\CloudAdmin", Password: "sim-password", Configuration: "PrivilegedEndpoint"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			cfg, err := NewPEPDialer(rb, PEPOptions{Override: tc.target.Override()}).Config("east")
			if err != nil {
				t.Fatal(err)
			}
			got := view{cfg.Addresses, cfg.Port, cfg.HTTPS, cfg.Insecure, string(cfg.CAPEM), cfg.Auth, cfg.Username, cfg.Password, cfg.ConfigurationName}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
		})
	}
	// Without the redirect, the runbook's settings stand (insecure, so the
	// missing ca_file is not read).
	cfg, err := NewPEPDialer(rb, PEPOptions{}).Config("east")
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.HTTPS || !cfg.Insecure || cfg.Port != 5986 || cfg.Auth != pep.AuthNTLM || len(cfg.Addresses) != 2 {
		t.Errorf("config without override: %+v", cfg)
	}
}

// TestPEPDialerSource checks that a PEPDialer, as the PEPSource of the
// step types, opens its sessions where its Override points.
func TestPEPDialerSource(t *testing.T) {
	ep := startPEP(t, simwsman.Config{Auth: simwsman.AuthBasic})
	rb := loadPEPRunbook(t, t.TempDir(), `
  addresses = ["10.0.0.224"]
  username  = "AZURESTACK\\CloudAdmin"`)
	var src PEPSource = NewPEPDialer(rb, PEPOptions{Override: PEPTarget{Addresses: []string{ep.WSMan.Host()}, Port: ep.WSMan.Port(), Auth: pep.AuthBasic}.Override()})
	s, err := src.PEP(context.Background(), "east")
	if err != nil {
		t.Fatal(err)
	}
	if got := stampInfo(t, s); got != "local" {
		t.Errorf("RegionName = %q", got)
	}
	if n := ep.State().Sessions; n != 0 {
		t.Errorf("%d sessions left open", n)
	}
}
