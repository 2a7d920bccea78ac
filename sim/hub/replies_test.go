package hub

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/runbook-dev/runbook/sim/certs"
)

// specStamp starts the spec-examples scenario.
func specStamp(t *testing.T) *fixture {
	t.Helper()
	sc, err := ScenarioByName("spec-examples")
	if err != nil {
		t.Fatal(err)
	}
	return start(t, Options{Scenario: &sc})
}

// TestRepliesBare202: rotateSecrets answers a 202 with no header and no
// body, as the specification's example; the rotation runs all the same and
// shows only in the deployment.
func TestRepliesBare202(t *testing.T) {
	sc, _ := ScenarioByName("bare-202")
	f := start(t, Options{Scenario: &sc})
	r := f.do(http.MethodPost, f.arm("/productDeployments/microsoft.eventhub/rotateSecrets"), nil)
	got := []string{http.StatusText(r.Status), r.Header.Get("Azure-AsyncOperation"), r.Header.Get("Location"), r.Header.Get("Retry-After"), string(r.Body)}
	if diff := cmp.Diff([]string{"Accepted", "", "", "", ""}, got); diff != "" {
		t.Errorf("rotateSecrets (-want +got)\n%s", diff)
	}
	status := func() string {
		return decode[deploymentJSON](t, f.do(http.MethodGet, f.arm("/productDeployments/microsoft.eventhub"), nil)).Properties.Status
	}
	if s := status(); s != StatusSecretRotationRunning {
		t.Errorf("deployment %s after the 202, want %s", s, StatusSecretRotationRunning)
	}
	f.clk.Advance(4*time.Hour - time.Second)
	if s := status(); s != StatusSecretRotationRunning {
		t.Errorf("deployment %s a second before the end", s)
	}
	f.clk.Advance(time.Second)
	if s := status(); s != StatusSecretRotationSucceeded {
		t.Errorf("deployment %s after 4h", s)
	}
}

// TestRepliesAsyncSecrets: validate and import as long-running operations,
// with the error field (async-secrets) and in the specification's shape.
func TestRepliesAsyncSecrets(t *testing.T) {
	for _, extra := range []bool{true, false} {
		t.Run(map[bool]string{true: "with error field", false: "specification's shape"}[extra], func(t *testing.T) {
			sc, _ := ScenarioByName("async-secrets")
			sc.Replies.OperationErrors = extra
			f := start(t, Options{Scenario: &sc})
			good, err := f.srv.ProductPFX("microsoft.eventhub", certs.FlawNone, canaryPFXPassword)
			if err != nil {
				t.Fatal(err)
			}
			secret := "/productPackages/microsoft.eventhub.1.2003.0.0/secrets/aseh-ssl-gateway-pfx"
			bad := f.do(http.MethodPost, f.arm(secret+"/validate"), pfxBody(good, "wrong-password"))
			imp := f.do(http.MethodPost, f.arm(secret+"/import"), pfxBody(good, canaryPFXPassword))
			for _, r := range []response{bad, imp} {
				if r.Status != http.StatusAccepted || r.Header.Get("Azure-AsyncOperation") == "" || r.Header.Get("Location") == "" {
					t.Fatalf("answer %d %v, want 202 with operation headers", r.Status, r.Header)
				}
			}
			poll := func(r response) operationJSON {
				return decode[operationJSON](t, f.do(http.MethodGet, r.Header.Get("Azure-AsyncOperation"), nil))
			}
			secretStatus := func() string {
				return decode[secretJSON](t, f.do(http.MethodGet, f.arm(secret), nil)).Properties.SecretState.Status
			}
			if a, b, s := poll(bad).Status, poll(imp).Status, secretStatus(); a != OpUpdating || b != OpUpdating || s != SecretDeployed {
				t.Errorf("at once: validate %s, import %s, secret %s", a, b, s)
			}
			f.clk.Advance(SecretOperationDuration)
			v, i := poll(bad), poll(imp)
			if v.Status != OpFailed || i.Status != OpSucceeded || secretStatus() != SecretUploaded {
				t.Errorf("after %s: validate %+v, import %+v, secret %s", SecretOperationDuration, v, i, secretStatus())
			}
			if (v.Error != nil) != extra || extra && v.Error.Code != CodeInvalidCertificatePassword {
				t.Errorf("failed validation's error field: %+v", v.Error)
			}
			assertNoCanary(t, "calls", callsText(f.srv.Calls()))
		})
	}
}

// TestRepliesSpecExamples: the spec-examples stamp answers with the shapes
// of the specification's examples.
func TestRepliesSpecExamples(t *testing.T) {
	f := specStamp(t)

	// Lists are bare arrays.
	var deps []deploymentJSON
	if err := json.Unmarshal(f.do(http.MethodGet, f.arm("/productDeployments"), nil).Body, &deps); err != nil || len(deps) != 3 {
		t.Fatalf("bare list: %v, %d items", err, len(deps))
	}
	// The bootstrap-only deployment names no deployment.
	iot := f.do(http.MethodGet, f.arm("/productDeployments/microsoft.iothubpreview"), nil)
	if body := string(iot.Body); !strings.Contains(body, `"status":"BootstrapSucceeded"`) || strings.Contains(body, `"deployment"`) ||
		strings.Contains(body, "lastSuccessfulDeployment") {
		t.Errorf("bootstrap-only deployment: %s", body)
	}
	if r := f.do(http.MethodPost, f.arm("/productDeployments/microsoft.iothubpreview/rotateSecrets"), nil); r.Status != http.StatusConflict {
		t.Errorf("rotateSecrets of a bootstrap-only product: %d %s", r.Status, r.Body)
	}
	// Its secret has no expirationDate; packages answer api-version 2018-07-01 too.
	sec := f.do(http.MethodGet, f.srv.prefix()+"/productPackages/microsoft.iothubpreview.1.0.2/secrets/sslCert?api-version=2018-07-01", nil)
	if body := string(sec.Body); sec.Status != http.StatusOK || strings.Contains(body, "expirationDate") || !strings.Contains(body, `"status":"NotUploaded"`) {
		t.Errorf("secret without expiry: %d %s", sec.Status, body)
	}
	if r := f.do(http.MethodGet, f.srv.prefix()+"/productDeployments?api-version=2018-07-01", nil); r.Status != http.StatusBadRequest {
		t.Errorf("deployments with 2018-07-01: %d, want 400", r.Status)
	}

	// Operation results live under locations/redmond, spelled operationResults.
	good, err := f.srv.ProductPFX("microsoft.eventhub", certs.FlawNone, canaryPFXPassword)
	if err != nil {
		t.Fatal(err)
	}
	r := f.do(http.MethodPost, f.arm("/productPackages/microsoft.eventhub.1.2003.0.0/secrets/aseh-ssl-gateway-pfx/validate"), pfxBody(good, canaryPFXPassword))
	u := r.Header.Get("Azure-AsyncOperation")
	if !strings.Contains(u, "/locations/redmond/operationResults/") {
		t.Fatalf("operation URL %q", u)
	}
	op := decode[operationJSON](t, f.do(http.MethodGet, u, nil))
	if !strings.Contains(op.ID, "/locations/redmond/operationResults/") || op.Status != OpUpdating {
		t.Errorf("operation result %+v", op)
	}
	// The same result under global, lower-cased, as the specification's path has it.
	lower := strings.Replace(strings.Replace(u, "/redmond/", "/global/", 1), "operationResults", "operationresults", 1)
	if r := f.do(http.MethodGet, lower, nil); r.Status != http.StatusOK {
		t.Errorf("%s: %d", lower, r.Status)
	}
	// Other resources stay under global only.
	if r := f.do(http.MethodGet, strings.Replace(f.arm("/productDeployments"), "/global/", "/redmond/", 1), nil); r.Status != http.StatusNotFound {
		t.Errorf("deployments under redmond: %d", r.Status)
	}
}
