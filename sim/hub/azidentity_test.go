package hub

import (
	"context"
	"crypto"
	"crypto/x509"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/runbook-dev/runbook/clock"
	"github.com/runbook-dev/runbook/sim/certs"
)

// TestAzidentityCredentials has the real, unmodified azidentity credentials
// get tokens from the simulated identity provider, in both styles and with
// both kinds of client credential, and call admin ARM with them through an
// azcore pipeline with the bearer token policy.
func TestAzidentityCredentials(t *testing.T) {
	ca, err := certs.NewCA(certs.DefaultCAName, time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	clientCert, err := ca.ClientCertificate("runbook-automation", epoch.AddDate(-1, 0, 0), epoch.AddDate(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	const certClientID = "8d7c6b5a-4f3e-4d2c-8b1a-0e9f8d7c6b5a"
	clients := []Client{
		{ID: testClientID, Secret: canaryClientSecr},
		{ID: certClientID, Certificate: clientCert.Cert},
	}
	tests := map[string]struct {
		style IdentityStyle
		cert  bool
	}{
		"adfs secret":      {style: ADFS},
		"adfs certificate": {style: ADFS, cert: true},
		"entra secret":     {style: Entra},
		"entra cert":       {style: Entra, cert: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			// The real clock: azidentity checks token expiry by it.
			f := start(t, Options{Clock: clock.Real, CA: ca, Identity: tc.style, Clients: clients})
			transport := f.srv.Client()
			defer transport.CloseIdleConnections()
			copts := azcore.ClientOptions{
				Transport: transport,
				Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: f.srv.LoginEndpoint()},
			}
			var cred azcore.TokenCredential
			if tc.cert {
				cred, err = azidentity.NewClientCertificateCredential(f.srv.Tenant(), certClientID,
					[]*x509.Certificate{clientCert.Cert}, crypto.PrivateKey(clientCert.Key),
					&azidentity.ClientCertificateCredentialOptions{ClientOptions: copts, DisableInstanceDiscovery: true})
			} else {
				cred, err = azidentity.NewClientSecretCredential(f.srv.Tenant(), testClientID, canaryClientSecr,
					&azidentity.ClientSecretCredentialOptions{ClientOptions: copts, DisableInstanceDiscovery: true})
			}
			if err != nil {
				t.Fatal(err)
			}
			scope := f.srv.Audience() + "/.default"
			pl := runtime.NewPipeline("simhubtest", "v0", runtime.PipelineOptions{
				PerRetry: []policy.Policy{runtime.NewBearerTokenPolicy(cred, []string{scope}, nil)},
			}, &policy.ClientOptions{Transport: transport, Retry: policy.RetryOptions{MaxRetries: -1}})

			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			req, err := runtime.NewRequest(ctx, http.MethodGet, f.srv.URL()+f.arm("/productDeployments/microsoft.eventhub"))
			if err != nil {
				t.Fatal(err)
			}
			res, err := pl.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			if res.StatusCode != http.StatusOK {
				b, _ := io.ReadAll(res.Body)
				t.Fatalf("GET product deployment: %s %s", res.Status, b)
			}
			var d deploymentJSON
			if err := runtime.UnmarshalAsJSON(res, &d); err != nil {
				t.Fatal(err)
			}
			if d.Name != "global/microsoft.eventhub" {
				t.Errorf("name = %q", d.Name)
			}
			if got := f.srv.State().TokensIssued; got != 1 {
				t.Errorf("tokens issued = %d, want 1", got)
			}
			var paths []string
			for _, c := range f.srv.Calls() {
				paths = append(paths, c.Method+" "+c.Path)
			}
			want := "GET /adfs/.well-known/openid-configuration,POST /adfs/oauth2/token/"
			if tc.style == Entra {
				tn := f.srv.Tenant()
				want = "GET /" + tn + "/v2.0/.well-known/openid-configuration,POST /" + tn + "/oauth2/v2.0/token"
			}
			want += ",GET " + f.srv.prefix() + "/productDeployments/microsoft.eventhub"
			if got := strings.Join(paths, ","); got != want {
				t.Errorf("requests:\n got %s\nwant %s", got, want)
			}
			assertNoCanary(t, "request log", callsText(f.srv.Calls()))
		})
	}
}

// TestAzidentityWrongSecret checks that a refused credential surfaces the
// identity provider's error to azidentity without the secret.
func TestAzidentityWrongSecret(t *testing.T) {
	for name, style := range map[string]IdentityStyle{"adfs": ADFS, "entra": Entra} {
		t.Run(name, func(t *testing.T) {
			f := start(t, Options{Clock: clock.Real, Identity: style})
			copts := azcore.ClientOptions{
				Transport: f.hc, Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: f.srv.LoginEndpoint()},
			}
			cred, err := azidentity.NewClientSecretCredential(f.srv.Tenant(), testClientID, "wrong-"+canaryPFXPassword,
				&azidentity.ClientSecretCredentialOptions{ClientOptions: copts, DisableInstanceDiscovery: true})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_, err = cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{f.srv.Audience() + "/.default"}})
			if err == nil || !strings.Contains(err.Error(), "invalid_client") {
				t.Fatalf("GetToken with a wrong secret: err = %v, want invalid_client", err)
			}
			assertNoCanary(t, "error", err.Error())
		})
	}
}
