package hub

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestSignIn signs in with each service-principal method against AD FS and
// Entra ID style identity providers and reads the deployments.
func TestSignIn(t *testing.T) {
	type result struct {
		ADFS          bool
		Tenant        string
		Scope         string
		Products      []string
		Packages      []string
		TokenRequests int
		SubLookups    int
	}
	certAuth := func(pem bool) func(*stamp, *Config) {
		return func(st *stamp, cfg *Config) {
			leaf, err := st.ca.ClientCertificate("runbook-operator", epoch.AddDate(0, 0, -1), epoch.AddDate(1, 0, 0))
			if err != nil {
				t.Fatal(err)
			}
			st.cert = leaf.Cert
			cfg.Auth.Method, cfg.Auth.ClientSecret = AuthClientCertificate, ""
			if pem {
				cfg.Auth.CertificateData, err = leaf.PEM()
			} else {
				cfg.Auth.CertificateData, err = leaf.PFX(canaryPFXPassword)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	secretAuth := func(*stamp, *Config) {}
	tests := map[string]struct {
		adfs   bool
		tenant string
		setup  func(*stamp, *Config)
	}{
		"adfs client secret":         {adfs: true, tenant: "adfs", setup: secretAuth},
		"adfs tenant left empty":     {adfs: true, tenant: "", setup: secretAuth},
		"adfs tenant in upper case":  {adfs: true, tenant: "ADFS", setup: secretAuth},
		"adfs certificate from pfx":  {adfs: true, tenant: "adfs", setup: certAuth(false)},
		"entra client secret":        {tenant: testEntraTenant, setup: secretAuth},
		"entra certificate from pem": {tenant: testEntraTenant, setup: certAuth(true)},
		"entra certificate from pfx": {tenant: testEntraTenant, setup: certAuth(false)},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			st := newStamp(t, newFakeClock(), tc.adfs)
			c, _ := newClient(t, st, func(cfg *Config) {
				cfg.Auth.Tenant = tc.tenant
				tc.setup(st, cfg)
			})
			ctx := context.Background()
			deps, err := c.ListProductDeployments(ctx)
			if err != nil {
				t.Fatal(err)
			}
			pkgs, err := c.ListProductPackages(ctx)
			if err != nil {
				t.Fatal(err)
			}
			got := result{ADFS: c.Metadata().ADFS, Tenant: c.Metadata().Tenant, Scope: c.Metadata().Scope,
				TokenRequests: st.tokenCount(), SubLookups: st.callsMatching("GET /subscriptions")}
			for _, d := range deps {
				got.Products = append(got.Products, d.ProductID()+"@"+d.PackageID())
			}
			for _, p := range pkgs {
				got.Packages = append(got.Packages, p.PackageID())
			}
			want := result{ADFS: tc.adfs, Tenant: testEntraTenant, Scope: testAudience + "/.default",
				Products: []string{"microsoft.eventhub@microsoft.eventhub.1.2003.0.0", "microsoft.sqlrp@microsoft.sqlrp.2.0.0.2"},
				Packages: []string{"microsoft.eventhub.1.2003.0.0"}, TokenRequests: 1, SubLookups: 2}
			if tc.adfs {
				want.Tenant = "adfs"
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

// TestSignInFailureRedactsSecret: a careless identity provider quotes the
// client secret in its error; the client's error must not.
func TestSignInFailureRedactsSecret(t *testing.T) {
	st := newStamp(t, newFakeClock(), true)
	st.echoSecrets = true
	c, log := newClient(t, st, func(cfg *Config) { cfg.Auth.ClientSecret = canaryClientSecret + "-wrong" })
	_, err := c.GetProductDeployment(context.Background(), "microsoft.eventhub")
	if err == nil {
		t.Fatal("sign-in with a wrong secret succeeded")
	}
	for _, want := range []string{"hub east", "find the Default Provider Subscription", "sign-in failed", "invalid_client", redacted} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	assertNoLeak(t, "error", err.Error())
	if strings.Contains(log.String(), "-wrong") {
		t.Errorf("log holds the wrong secret: %s", log)
	}
	if n := st.tokenCount(); n != 0 {
		t.Errorf("%d tokens issued", n)
	}
}

// TestAzureCLI borrows a token from a stand-in "az" on PATH.
func TestAzureCLI(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the stand-in az is a shell script")
	}
	st := newStamp(t, newFakeClock(), true)
	tok := st.issue()
	dir := t.TempDir()
	args := filepath.Join(dir, "args")
	script := "#!/bin/sh\necho \"$@\" > " + args + "\n" +
		`echo '{"accessToken":"` + tok + `","expires_on":` + itoa(epoch.Add(st.tokenTTL).Unix()) + `,"tokenType":"Bearer"}'` + "\n"
	if err := os.WriteFile(filepath.Join(dir, "az"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	c, _ := newClient(t, st, func(cfg *Config) { cfg.Auth = Auth{Method: AuthAzureCLI} })
	if _, err := c.GetProductDeployment(context.Background(), "microsoft.eventhub"); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(args)
	if err != nil {
		t.Fatal(err)
	}
	if want := "--resource " + testAudience; !strings.Contains(string(b), want) {
		t.Errorf("az called with %q, want %q in it", b, want)
	}
}

// TestDeviceCode signs an operator in with a device code on an Entra stamp
// without instance discovery; the prompt goes to Auth.Prompt.
func TestDeviceCode(t *testing.T) {
	st := newStamp(t, newFakeClock(), false)
	var prompt strings.Builder
	c, _ := newClient(t, st, func(cfg *Config) {
		cfg.Auth = Auth{Method: AuthDeviceCode, Tenant: testEntraTenant, ClientID: "operator-app", Prompt: &prompt}
	})
	ctx := context.Background()
	if _, err := c.GetProductDeployment(ctx, "microsoft.eventhub"); err != nil {
		t.Fatal(err)
	}
	// The token expires on the stamp's clock; the renewal redeems the
	// refresh token and does not prompt again.
	st.clock.Advance(2 * time.Hour)
	if _, err := c.GetProductDeployment(ctx, "microsoft.eventhub"); err != nil {
		t.Fatal(err)
	}
	st.mu.Lock()
	refreshes := st.refreshes
	st.mu.Unlock()
	if refreshes != 1 || st.tokenCount() != 2 {
		t.Errorf("%d refreshes, %d tokens; want 1 and 2", refreshes, st.tokenCount())
	}
	want := "hub east: To sign in, open https://" + strings.TrimPrefix(st.srv.URL, "https://") + "/devicelogin and enter the code RBK-42.\n"
	if diff := cmp.Diff(want, prompt.String()); diff != "" {
		t.Errorf("prompt (-want +got)\n%s", diff)
	}
}
