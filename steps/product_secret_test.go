package steps

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/runbook-dev/runbook/executor"
	"github.com/runbook-dev/runbook/executor/plan"
	"github.com/runbook-dev/runbook/sim/certs"
	simhub "github.com/runbook-dev/runbook/sim/hub"
	"github.com/runbook-dev/runbook/state"
	"github.com/zclconf/go-cty/cty"
)

const eventhubStep = `
step "product_secret" "cert" {
  hub          = hub.east
  package_id   = "microsoft.eventhub.1.2003.0.0"
  secret_name  = "aseh-ssl-gateway-pfx"
  pfx_file     = "eventhub.pfx"
  pfx_password = var.pfx_password
}`

// pfx issues a PFX for microsoft.eventhub from the stamp's CA.
func (f *fixture) pfx(flaw certs.Flaw, password string) []byte {
	f.t.Helper()
	data, err := f.srv.ProductPFX("microsoft.eventhub", flaw, password)
	if err != nil {
		f.t.Fatal(err)
	}
	return data
}

func (f *fixture) planPS(name string, h *state.History) *executor.PlanResponse {
	var resp *executor.PlanResponse
	f.run(func() {
		resp = NewProductSecret(f.conns).Plan(context.Background(), f.planRequest(NewProductSecret(f.conns), name, h, false))
	})
	return resp
}

// evidenceOf is the evidence of a certificate issued by the stamp's
// ProductPFX at epoch, computed independently of Evidence.
func evidenceOf(t *testing.T, data []byte, password string) map[string]any {
	t.Helper()
	c, err := certs.ReadPFX(data, password)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]any{
		"subject": "CN=*.eventhub.local.azurestack.external", "sans": []any{"*.eventhub.local.azurestack.external"},
		"issuer":     "CN=" + certs.DefaultCAName + ",O=runbook simulated stamp",
		"not_before": epoch.Add(-time.Hour).Format(time.RFC3339), "not_after": epoch.AddDate(1, 0, 0).Format(time.RFC3339),
		"days_left": itoa(int(math.Floor(c.NotAfter.Sub(epoch).Hours() / 24))), "sha256": certs.SHA256Thumbprint(c),
		"key_type": "RSA", "key_size": "2048", "chain": "complete",
	}
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestProductSecretPlanGood(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	f.load(fixtureOptions{}, eventhubStep)
	data := f.pfx(certs.FlawNone, canaryPFXPassword)
	f.writeFile("eventhub.pfx", data)

	resp := f.planPS("cert", nil)
	ev := evidenceOf(t, data, canaryPFXPassword)
	stampExpires := epoch.Add(25 * 24 * time.Hour).Format(time.RFC3339)
	before := map[string]any{
		"package_id": "microsoft.eventhub.1.2003.0.0", "secret_name": "aseh-ssl-gateway-pfx",
		"status": "Deployed", "expires": stampExpires, "certificate": nil, "pfx_password": nil,
	}
	want := planView{
		Action: "update", Summary: "import a new certificate", Reason: "no import by this step is journalled yet",
		Remote: "status=Deployed;expires=" + stampExpires,
		Before: before,
		After: map[string]any{
			"package_id": "microsoft.eventhub.1.2003.0.0", "secret_name": "aseh-ssl-gateway-pfx",
			"status": "Uploaded", "expires": ev["not_after"], "certificate": ev, "pfx_password": "(sensitive value)",
		},
		Outputs: map[string]any{
			"package_id": "microsoft.eventhub.1.2003.0.0", "secret_name": "aseh-ssl-gateway-pfx",
			"status": "Uploaded", "certificate": ev,
			"current": map[string]any{"expires": stampExpires, "days_left": "25"},
		},
		Private:      map[string]string{"package_id": "microsoft.eventhub.1.2003.0.0", "secret_status": "Deployed"},
		Fingerprints: map[string]string{"pfx_file": sha256Hex(data), "pfx_password": f.fingerprint([]byte(canaryPFXPassword))},
		Files:        []string{filepath.Join(f.dir, "eventhub.pfx")},
	}
	if diff := cmp.Diff(want, f.view(resp)); diff != "" {
		t.Errorf("plan (-want +got):\n%s", diff)
	}
	if got := resp.Outputs.Type(); !got.Equals(NewProductSecret(f.conns).Outputs()) {
		t.Errorf("outputs type = %#v, want %#v", got, NewProductSecret(f.conns).Outputs())
	}
	if diff := cmp.Diff([]string{"POST validate"}, f.calls("/validate", "/import")); diff != "" {
		t.Errorf("upload calls (-want +got):\n%s", diff)
	}
}

func TestProductSecretPlanLocalChecks(t *testing.T) {
	tests := map[string]struct {
		flaw     certs.Flaw
		password string // of the PFX; the runbook's is the canary
		data     []byte // instead of a PFX
		noFile   bool
		want     []string
	}{
		"wrong password":  {password: "not-the-password", want: []string{"error: Wrong PFX password @ var.pfx_password"}},
		"wrong SAN":       {flaw: certs.FlawWrongSAN, want: []string{"error: Certificate fails the \"DNS Names\" check @ \"eventhub.pfx\""}},
		"expired":         {flaw: certs.FlawExpired, want: []string{"error: Certificate fails the \"Expiry Date\" check @ \"eventhub.pfx\""}},
		"not yet valid":   {flaw: certs.FlawNotYetValid, want: []string{"error: Certificate fails the \"Expiry Date\" check @ \"eventhub.pfx\""}},
		"self-signed":     {flaw: certs.FlawSelfSigned, want: []string{"error: Certificate fails the \"Cert Chain\" check @ \"eventhub.pfx\""}},
		"untrusted chain": {flaw: certs.FlawOtherCA, want: []string{"error: Certificate fails the \"Trusted Root\" check @ \"eventhub.pfx\""}},
		"no private key":  {flaw: certs.FlawNoPrivateKey, want: []string{"error: Certificate fails the \"Private Key\" check @ \"eventhub.pfx\""}},
		"SHA-1":           {flaw: certs.FlawSHA1, want: []string{"error: Certificate fails the \"Signature Algorithm\" check @ \"eventhub.pfx\""}},
		"weak key":        {flaw: certs.FlawWeakKey, want: []string{"error: Certificate fails the \"Key Length\" check @ \"eventhub.pfx\""}},
		"chain order":     {flaw: certs.FlawChainOrder, want: []string{"error: Certificate fails the \"Chain Order\" check @ \"eventhub.pfx\""}},
		"extra cert":      {flaw: certs.FlawExtraCert, want: []string{"error: Certificate fails the \"Other Certificates\" check @ \"eventhub.pfx\""}},
		"key usage":       {flaw: certs.FlawKeyUsage, want: []string{"error: Certificate fails the \"Key Usage\" check @ \"eventhub.pfx\""}},
		"expires soon":    {flaw: certs.FlawExpiresSoon, want: []string{"error: Certificate fails the \"Expiry Date\" check @ \"eventhub.pfx\""}},
		"AES encryption":  {flaw: certs.FlawAESEncryption, want: []string{"error: Certificate fails the \"PFX Encryption\" check @ \"eventhub.pfx\""}},
		"not a PFX":       {data: []byte("-----BEGIN CERTIFICATE-----\n"), want: []string{`error: Not a PFX file @ "eventhub.pfx"`}},
		"missing file":    {noFile: true, want: []string{`error: Cannot read the PFX file @ "eventhub.pfx"`}},
	}
	f := newFixture(t, fixtureOptions{})
	f.load(fixtureOptions{}, eventhubStep)
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f.t = t
			pfxPath := filepath.Join(f.dir, "eventhub.pfx")
			switch {
			case tc.noFile:
				_ = os.Remove(pfxPath)
			case tc.data != nil:
				f.writeFile("eventhub.pfx", tc.data)
			default:
				pw := tc.password
				if pw == "" {
					pw = canaryPFXPassword
				}
				f.writeFile("eventhub.pfx", f.pfx(tc.flaw, pw))
			}
			before := len(f.calls("/validate", "/import"))
			resp := f.planPS("cert", nil)
			if diff := cmp.Diff(tc.want, f.diagLines(resp.Diagnostics)); diff != "" {
				t.Errorf("diagnostics (-want +got):\n%s", diff)
			}
			if n := len(f.calls("/validate", "/import")); n != before {
				t.Errorf("a certificate that fails local checks was sent to the stamp (%d uploads)", n-before)
			}
		})
	}
}

// TestProductSecretPlanStampValidate checks the stamp's own judgement where
// the local checks cannot tell: the runbook names the stamp by address, so
// the certificate host is unknown, and the client trusts the stamp's root
// only through its transport, so the chain cannot be checked locally.
func TestProductSecretPlanStampValidate(t *testing.T) {
	tests := map[string]struct {
		flaw       certs.Flaw
		wantAction string
		wantDiags  []string
		wantDetail string
	}{
		"good": {flaw: certs.FlawNone, wantAction: "update",
			wantDiags: []string{`warning: Certificate name not checked locally @ "eventhub.pfx"`}},
		"wrong SAN": {flaw: certs.FlawWrongSAN, wantDetail: "CertificateSubjectAlternativeNameMismatch",
			wantDiags: []string{`warning: Certificate name not checked locally @ "eventhub.pfx"`, `error: The stamp rejected the certificate @ "eventhub.pfx"`}},
		"untrusted chain": {flaw: certs.FlawOtherCA, wantDetail: "CertificateUntrustedRoot",
			wantDiags: []string{`warning: Certificate name not checked locally @ "eventhub.pfx"`, `error: The stamp rejected the certificate @ "eventhub.pfx"`}},
	}
	o := fixtureOptions{bypass: true}
	f := newFixture(t, o)
	f.load(o, eventhubStep)
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f.t = t
			f.writeFile("eventhub.pfx", f.pfx(tc.flaw, canaryPFXPassword))
			resp := f.planPS("cert", nil)
			if diff := cmp.Diff(tc.wantDiags, f.diagLines(resp.Diagnostics)); diff != "" {
				t.Errorf("diagnostics (-want +got):\n%s", diff)
			}
			if tc.wantAction != "" && resp.Action.String() != tc.wantAction {
				t.Errorf("action = %s, want %s", resp.Action, tc.wantAction)
			}
			if tc.wantDetail != "" {
				last := resp.Diagnostics[len(resp.Diagnostics)-1]
				if !strings.Contains(last.Detail, tc.wantDetail) {
					t.Errorf("detail %q does not quote the stamp's code %s", last.Detail, tc.wantDetail)
				}
			}
		})
	}
}

func TestProductSecretPlanLookup(t *testing.T) {
	steps := map[string]string{
		"by_product":      `product_id = "Microsoft.EventHub"` + "\n  secret_name = \"aseh-ssl-gateway-pfx\"",
		"unknown_product": `product_id = "microsoft.nothing"` + "\n  secret_name = \"aseh-ssl-gateway-pfx\"",
		"unknown_package": `package_id = "microsoft.eventhub.9.9.9.9"` + "\n  secret_name = \"aseh-ssl-gateway-pfx\"",
		"unknown_secret":  `package_id = "microsoft.eventhub.1.2003.0.0"` + "\n  secret_name = \"nope\"",
		"both_ids":        `package_id = "microsoft.eventhub.1.2003.0.0"` + "\n  product_id = \"microsoft.eventhub\"\n  secret_name = \"aseh-ssl-gateway-pfx\"",
		"no_ids":          `secret_name = "aseh-ssl-gateway-pfx"`,
	}
	src := ""
	for name, body := range steps {
		src += "\nstep \"product_secret\" \"" + name + "\" {\n  hub = hub.east\n  " + body +
			"\n  pfx_file = \"eventhub.pfx\"\n  pfx_password = var.pfx_password\n}\n"
	}
	f := newFixture(t, fixtureOptions{})
	f.load(fixtureOptions{}, src)
	f.writeFile("eventhub.pfx", f.pfx(certs.FlawNone, canaryPFXPassword))
	tests := map[string]struct {
		wantDiags   []string
		wantPackage string
	}{
		"by_product":      {wantPackage: "microsoft.eventhub.1.2003.0.0"},
		"unknown_product": {wantDiags: []string{`error: Product not deployed @ "microsoft.nothing"`}},
		"unknown_package": {wantDiags: []string{`error: Package not found @ "microsoft.eventhub.9.9.9.9"`}},
		"unknown_secret":  {wantDiags: []string{`error: Secret not found @ "nope"`}},
		"both_ids":        {wantDiags: []string{`error: Conflicting package_id and product_id @ "microsoft.eventhub"`}},
		"no_ids":          {wantDiags: []string{`error: Missing package_id or product_id @ "aseh-ssl-gateway-pfx"`}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f.t = t
			resp := f.planPS(name, nil)
			if diff := cmp.Diff(tc.wantDiags, f.diagLines(resp.Diagnostics)); diff != "" {
				t.Errorf("diagnostics (-want +got):\n%s", diff)
			}
			if got := resp.Private[ResultPackageID]; got != tc.wantPackage {
				t.Errorf("package = %q, want %q", got, tc.wantPackage)
			}
		})
	}
}

func TestProductSecretApplyThenNoChange(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	f.load(fixtureOptions{}, eventhubStep)
	data := f.pfx(certs.FlawNone, canaryPFXPassword)
	f.writeFile("eventhub.pfx", data)
	resp := f.planPS("cert", nil)
	if resp.Action != plan.Update {
		t.Fatalf("first plan: %s %v", resp.Action, resp.Diagnostics)
	}
	var progress []executor.Progress
	ar := f.applyPS("cert", resp, func(p executor.Progress) { progress = append(progress, p) })
	if ar.Err != nil {
		t.Fatalf("apply: %v", ar.Err)
	}
	ev := evidenceOf(t, data, canaryPFXPassword)
	wantResult := map[string]string{
		"pfx_sha256": sha256Hex(data), "cert_sha256": ev["sha256"].(string),
		"not_after": ev["not_after"].(string), "package_id": "microsoft.eventhub.1.2003.0.0", "secret_name": "aseh-ssl-gateway-pfx",
	}
	if diff := cmp.Diff(wantResult, ar.Result); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
	if got := plainValue(ar.Outputs).(map[string]any)["status"]; got != "Uploaded" {
		t.Errorf("outputs status = %v, want Uploaded", got)
	}
	if diff := cmp.Diff([]executor.Progress{{Percent: 0, Message: "importing the certificate"}, {Percent: 100, Message: "certificate uploaded"}}, progress); diff != "" {
		t.Errorf("progress (-want +got):\n%s", diff)
	}
	st := f.srv.State().Products[0].Secrets[0]
	if st.Status != "Uploaded" || st.Imports != 1 || st.Uploaded.ThumbprintSHA256 != ev["sha256"] {
		t.Errorf("stamp secret = %s, %d imports, uploaded %+v; want Uploaded, 1, this certificate", st.Status, st.Imports, st.Uploaded)
	}

	h := &state.History{LastSuccess: ar.Result, LastSuccessAt: f.clk.Now()}
	again := f.view(f.planPS("cert", h))
	if again.Action != "no-op" || again.Reason != "the stamp holds this certificate, uploaded and waiting for a secret rotation" {
		t.Errorf("second plan = %s (%s), want no-op because the certificate waits for a rotation", again.Action, again.Reason)
	}

	// A different certificate in the file is a change again.
	f.writeFile("eventhub.pfx", f.pfx(certs.FlawNone, canaryPFXPassword))
	third := f.view(f.planPS("cert", h))
	if third.Action != "update" || third.Reason != "the PFX file differs from the one this step imported last" {
		t.Errorf("plan of a new file = %s (%s), want update", third.Action, third.Reason)
	}
}

func (f *fixture) applyPS(name string, planned *executor.PlanResponse, progress func(executor.Progress)) *executor.ApplyResponse {
	f.t.Helper()
	req := f.applyRequest(NewProductSecret(f.conns), name, planned, progress)
	var ar *executor.ApplyResponse
	f.run(func() { ar = NewProductSecret(f.conns).Apply(context.Background(), req) })
	f.checkApply(ar)
	return ar
}

func TestProductSecretApplyRefuses(t *testing.T) {
	tests := map[string]struct {
		change func(f *fixture, planned *executor.PlanResponse)
		want   string
	}{
		"file changed": {
			change: func(f *fixture, _ *executor.PlanResponse) {
				f.writeFile("eventhub.pfx", f.pfx(certs.FlawNone, canaryPFXPassword))
			},
			want: "eventhub.pfx changed since the plan was made; run plan again to review the new certificate",
		},
		"password changed": {
			change: func(_ *fixture, planned *executor.PlanResponse) { planned.Fingerprints["pfx_password"] = "0000" },
			want:   "pfx_password is not the value the plan was made with; run plan again",
		},
		"stamp changed": {
			change: func(f *fixture, planned *executor.PlanResponse) {
				planned.Remote = "status=Deployed;expires=2000-01-01T00:00:00Z"
			},
			want: "secret microsoft.eventhub.1.2003.0.0/aseh-ssl-gateway-pfx changed on the stamp since the plan",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, fixtureOptions{})
			f.load(fixtureOptions{}, eventhubStep)
			f.writeFile("eventhub.pfx", f.pfx(certs.FlawNone, canaryPFXPassword))
			planned := f.planPS("cert", nil)
			tc.change(f, planned)
			ar := f.applyPS("cert", planned, nil)
			if ar.Err == nil || !strings.Contains(ar.Err.Error(), tc.want) {
				t.Fatalf("apply error = %v, want %q", ar.Err, tc.want)
			}
			if ar.Retryable {
				t.Error("a refusal is retryable")
			}
			if n := f.srv.State().Products[0].Secrets[0].Imports; n != 0 {
				t.Errorf("%d imports, want none", n)
			}
		})
	}
}

// TestProductSecretReadBackFails fails the read after a successful import:
// the error says that the import reached the stamp.
func TestProductSecretReadBackFails(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	f.load(fixtureOptions{}, eventhubStep)
	f.writeFile("eventhub.pfx", f.pfx(certs.FlawNone, canaryPFXPassword))
	planned := f.planPS("cert", nil)
	// Apply reads the secret once before the import (let through) and
	// once after it (every try answered 500).
	f.srv.Inject(simhub.Fault{Kind: simhub.FaultServerError, Method: "GET", Path: "/secrets/aseh-ssl-gateway-pfx", Skip: 1, Times: -1})
	ar := f.applyPS("cert", planned, nil)
	if ar.Err == nil {
		t.Fatal("apply succeeded")
	}
	for _, want := range []string{"InternalServerError", "the stamp had accepted the import"} {
		if !strings.Contains(ar.Err.Error(), want) {
			t.Errorf("apply error lacks %q: %v", want, ar.Err)
		}
	}
	if !ar.Retryable {
		t.Error("a failed read after the import is not retryable")
	}
	if diff := cmp.Diff([]string{"POST import"}, f.calls("/import")); diff != "" {
		t.Errorf("imports (-want +got):\n%s", diff)
	}
}

func TestProductSecretResume(t *testing.T) {
	tests := map[string]struct {
		landed      bool
		wantImports []string
	}{
		"import reached the stamp": {landed: true, wantImports: []string{"POST import"}},
		"import never sent":        {landed: false, wantImports: []string{"POST import"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, fixtureOptions{})
			f.load(fixtureOptions{}, eventhubStep)
			data := f.pfx(certs.FlawNone, canaryPFXPassword)
			f.writeFile("eventhub.pfx", data)
			planned := f.planPS("cert", nil)
			if tc.landed {
				// The interrupted run's import: the stamp has it, the
				// journal has no result.
				ar := f.applyPS("cert", planned, nil)
				if ar.Err != nil {
					t.Fatal(ar.Err)
				}
			}
			req := &executor.ResumeRequest{ApplyRequest: *f.applyRequest(NewProductSecret(f.conns), "cert", planned, nil)}
			var ar *executor.ApplyResponse
			f.run(func() { ar = NewProductSecret(f.conns).Resume(context.Background(), req) })
			f.checkApply(ar)
			if ar.Err != nil {
				t.Fatalf("resume: %v", ar.Err)
			}
			if diff := cmp.Diff(tc.wantImports, f.calls("/import")); diff != "" {
				t.Errorf("imports (-want +got):\n%s", diff)
			}
			if got := ar.Result[ResultPFXSHA256]; got != sha256Hex(data) {
				t.Errorf("result pfx_sha256 = %q, want the file's", got)
			}
		})
	}
}

func itoa(n int) string { return cty.NumberIntVal(int64(n)).AsBigFloat().String() }
