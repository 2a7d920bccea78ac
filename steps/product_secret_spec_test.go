package steps

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/runbook-dev/runbook/sim/certs"
)

// TestProductSecretAsyncValidate: against a stamp that runs validate as a
// long-running operation (async-secrets), a certificate the stamp rejects
// is a plan error quoting the stamp's reason, and a good one plans an
// update.
func TestProductSecretAsyncValidate(t *testing.T) {
	tests := map[string]struct {
		flaw       certs.Flaw
		wantDiags  []string
		wantDetail string
	}{
		"good": {flaw: certs.FlawNone, wantDiags: []string{`warning: Certificate name not checked locally @ "eventhub.pfx"`}},
		"wrong SAN": {flaw: certs.FlawWrongSAN, wantDetail: "its validation failed: CertificateSubjectAlternativeNameMismatch",
			wantDiags: []string{`warning: Certificate name not checked locally @ "eventhub.pfx"`, `error: The stamp rejected the certificate @ "eventhub.pfx"`}},
	}
	o := fixtureOptions{bypass: true, scenario: scenarioNamed(t, "async-secrets")}
	f := newFixture(t, o)
	f.load(o, eventhubStep)
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f.t = t
			f.writeFile("eventhub.pfx", f.pfx(tc.flaw, canaryPFXPassword))
			before := len(f.calls("/operationresults/"))
			resp := f.planPS("cert", nil)
			if diff := cmp.Diff(tc.wantDiags, f.diagLines(resp.Diagnostics)); diff != "" {
				t.Errorf("diagnostics (-want +got):\n%s", diff)
			}
			if tc.wantDetail != "" {
				if last := resp.Diagnostics[len(resp.Diagnostics)-1]; !strings.Contains(last.Detail, tc.wantDetail) {
					t.Errorf("detail %q does not quote the stamp's reason %q", last.Detail, tc.wantDetail)
				}
			} else if resp.Action.String() != "update" {
				t.Errorf("action %s, want update", resp.Action)
			}
			if len(f.calls("/operationresults/")) == before {
				t.Error("the validation's operation was never polled")
			}
		})
	}
}

// TestProductSecretSpecExamples: a product bootstrapped but never deployed
// has no package to name, and a secret without expirationDate plans with
// its expiry unknown.
func TestProductSecretSpecExamples(t *testing.T) {
	o := fixtureOptions{scenario: scenarioNamed(t, "spec-examples")}
	f := newFixture(t, o)
	f.load(o, `
step "product_secret" "by_product" {
  hub          = hub.east
  product_id   = "microsoft.iothubpreview"
  secret_name  = "sslCert"
  pfx_file     = "eventhub.pfx"
  pfx_password = var.pfx_password
}
step "product_secret" "by_package" {
  hub          = hub.east
  package_id   = "microsoft.iothubpreview.1.0.2"
  secret_name  = "sslCert"
  pfx_file     = "iot.pfx"
  pfx_password = var.pfx_password
}`)
	f.writeFile("eventhub.pfx", f.pfx(certs.FlawNone, canaryPFXPassword))
	iot, err := f.srv.ProductPFX("microsoft.iothubpreview", certs.FlawNone, canaryPFXPassword)
	if err != nil {
		t.Fatal(err)
	}
	f.writeFile("iot.pfx", iot)
	if diff := cmp.Diff([]string{`error: No deployed version @ "microsoft.iothubpreview"`}, f.view(f.planPS("by_product", nil)).Diags); diff != "" {
		t.Errorf("by product (-want +got):\n%s", diff)
	}
	resp := f.planPS("by_package", nil)
	before, _ := f.view(resp).Before.(map[string]any)
	if v := f.view(resp); before == nil || before["expires"] != nil || before["status"] != "NotUploaded" || v.Action != "update" ||
		!cmp.Equal(v.Diags, []string{`warning: Certificate name not checked locally @ "iot.pfx"`}) {
		t.Errorf("plan %+v, want an update from status NotUploaded with no expiry", v)
	}
}
