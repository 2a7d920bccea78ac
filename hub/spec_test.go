package hub

// Tests against a stamp that answers with the bodies of the specification's
// own examples (testdata/spec, see its README): every reply shape the
// Microsoft.Deployment.Admin 2019-01-01 swagger allows, decoded by the
// client's own types.

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// specExample returns the body of one response of a specification example
// ("" for a response without a body).
func specExample(t *testing.T, name, status string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "spec", filepath.FromSlash(name)))
	if err != nil {
		t.Fatal(err)
	}
	var ex struct {
		Responses map[string]struct {
			Body json.RawMessage `json:"body"`
		} `json:"responses"`
	}
	if err := json.Unmarshal(b, &ex); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	r, ok := ex.Responses[status]
	if !ok {
		t.Fatalf("%s has no %s response", name, status)
	}
	return string(r.Body)
}

// editJSON returns body with edit applied to its decoded form.
func editJSON(t *testing.T, body string, edit func(map[string]any)) string {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatal(err)
	}
	edit(v)
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// specDeployment is the Get.json example's deployment renamed to product
// and given status and, if not nil, properties.error.
func specDeployment(t *testing.T, product, status string, errBody any) string {
	return editJSON(t, specExample(t, "ProductDeployment/Get.json", "200"), func(v map[string]any) {
		v["id"] = armPrefix + "/productDeployments/" + product
		v["name"] = "global/" + product
		props := v["properties"].(map[string]any)
		props["status"] = status
		if errBody != nil {
			props["error"] = errBody
		}
	})
}

// specOperation is the OperationResults/Get.json example with status and,
// if not nil, the error field the specification does not declare.
func specOperation(t *testing.T, status string, errBody any) string {
	return editJSON(t, specExample(t, "OperationResults/Get.json", "200"), func(v map[string]any) {
		v["status"] = status
		if errBody != nil {
			v["error"] = errBody
		}
	})
}

// extendedError is an error in the specification's ExtendedErrorInfo shape
// (Deployment.json): {"error": ErrorDefinition}.
var extendedError = map[string]any{"error": map[string]any{
	"code": "SecretRotationFailed", "message": "Action plan step 'RestartGateway' failed.",
	"details": []any{map[string]any{"code": "Timeout", "message": "The gateway VM did not come back."}},
}}

const (
	deploymentPath = "GET " + armPrefix + "/productDeployments/microsoft.eventhub"
	rotatePath     = "POST " + armPrefix + "/productDeployments/microsoft.eventhub/rotateSecrets"
	// The example's operation result lives under another location than
	// global, and its path spells operationResults as the example's id does.
	specOpPath = "/providers/Microsoft.Deployment.Admin/locations/redmond/operationResults/5cf211b1-5971-4edd-8ee2-11c0f651d469"
)

// serveInOrder plants answers for the requests whose "METHOD path" ends in
// match: the first answer serves answers[0].times requests, and so on.
func serveInOrder(st *stamp, match string, answers ...fault) {
	for _, a := range answers {
		a.match = match
		st.addFault(&a)
	}
}

// TestSpecExamplesDecode decodes the examples with the client's types.
func TestSpecExamplesDecode(t *testing.T) {
	var dep ProductDeployment
	if err := json.Unmarshal([]byte(specExample(t, "ProductDeployment/Get.json", "200")), &dep); err != nil {
		t.Fatal(err)
	}
	var op OperationStatus
	if err := json.Unmarshal([]byte(specExample(t, "OperationResults/Get.json", "200")), &op); err != nil {
		t.Fatal(err)
	}
	var sec ProductSecret
	if err := json.Unmarshal([]byte(specExample(t, "ProductSecret/Get.Json", "200")), &sec); err != nil {
		t.Fatal(err)
	}
	_, expiryKnown := sec.Properties.SecretState.Expiration()
	type summary struct {
		Product, Package, Status string
		OpStatus                 string
		OpTerminal, OpHasError   bool
		Secret, Kind             string
		ExpiryKnown              bool
	}
	got := summary{dep.ProductID(), dep.PackageID(), dep.Properties.Status, op.Status, op.Terminal(), op.Error != nil,
		sec.SecretName(), sec.Properties.SecretKind, expiryKnown}
	want := summary{"microsoft.iothubpreview", "", "BootstrapSucceeded", "Bootstrapping", false, false,
		"sslCert", "Certificate", false}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
}

// TestSpecRotateBare202 (defect 1): rotateSecrets answers the example's bare
// 202; the rotation is followed through the product deployment until its
// status leaves SecretRotationInProgress, not reported done at once.
func TestSpecRotateBare202(t *testing.T) {
	tests := map[string]struct {
		deployments []fault
		wantStatus  []string
		wantErr     string
	}{
		"in progress, then succeeded": {
			deployments: []fault{{times: 4}, {times: 1}},
			wantStatus:  []string{"SecretRotationInProgress", "SecretRotationInProgress", "SecretRotationInProgress", "SecretRotationInProgress", "Succeeded"},
		},
		"in progress, then failed with an ExtendedErrorInfo": {
			deployments: []fault{{times: 2}, {times: 1}},
			wantStatus:  []string{"SecretRotationInProgress", "SecretRotationInProgress", "Failed"},
			wantErr:     "hub east: rotate secrets of microsoft.eventhub: operation failed: SecretRotationFailed: Action plan step 'RestartGateway' failed.",
		},
		"the stamp starts the rotation a moment after answering": {
			deployments: []fault{{times: 1}, {times: 2}, {times: 1}},
			wantStatus:  []string{"DeploymentSucceeded", "SecretRotationInProgress", "SecretRotationInProgress", "Succeeded"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			st, c, _ := newFixture(t, true, func(cfg *Config) { cfg.PollInterval = time.Minute })
			serveInOrder(st, rotatePath, fault{times: 1, status: http.StatusAccepted, body: specExample(t, "ProductDeployment/RotateSecrets.json", "202")})
			bodies := []string{}
			for i, s := range tc.wantStatus {
				switch s {
				case "Succeeded":
					bodies = append(bodies, specDeployment(t, "microsoft.eventhub", "SecretRotationSucceeded", nil))
				case "Failed":
					bodies = append(bodies, specDeployment(t, "microsoft.eventhub", "SecretRotationFailed", extendedError))
				default:
					bodies = append(bodies, specDeployment(t, "microsoft.eventhub", tc.wantStatus[i], nil))
				}
			}
			k := 0
			for _, d := range tc.deployments {
				d.status, d.body = http.StatusOK, bodies[k]
				serveInOrder(st, deploymentPath, d)
				k += d.times
			}
			ctx := context.Background()
			var (
				op       Operation
				statuses []string
				err      error
			)
			waits := onFakeClock(t, st.clock, func() {
				if op, err = c.RotateSecrets(ctx, "microsoft.eventhub"); err == nil {
					_, err = c.PollOperation(ctx, op, func(p Progress) { statuses = append(statuses, p.Status) })
				}
			})
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || err.Error() != tc.wantErr) {
				t.Fatalf("error = %v, want %q", err, tc.wantErr)
			}
			if tc.wantErr != "" && !errors.Is(err, ErrOperationFailed) {
				t.Errorf("error %v does not wrap ErrOperationFailed", err)
			}
			if !op.FollowsDeployment || op.Header != "" || op.Done() || !strings.HasSuffix(strings.SplitN(op.URL, "?", 2)[0], "/productDeployments/microsoft.eventhub") {
				t.Errorf("operation = %+v, want one that follows the deployment", op)
			}
			if diff := cmp.Diff(tc.wantStatus, statuses); diff != "" {
				t.Errorf("progress (-want +got)\n%s", diff)
			}
			// The first read at once, then one a minute (Config.PollInterval).
			if want := time.Duration(len(tc.wantStatus)-1) * time.Minute; st.clock.Since(epoch) != want {
				t.Errorf("followed for %s (waits %v), want %s", st.clock.Since(epoch), waits, want)
			}
			if got := st.callsMatching(strings.TrimPrefix(deploymentPath, "GET ")); got != len(tc.wantStatus) {
				t.Errorf("%d deployment reads, want %d", got, len(tc.wantStatus))
			}
			// A resumed watch from the journalled URL follows the deployment too.
			if r := ResumeRotation("microsoft.eventhub", op.URL); !r.FollowsDeployment || r.Product != "microsoft.eventhub" {
				t.Errorf("ResumeRotation(%q) = %+v", op.URL, r)
			}
		})
	}
}

// TestSpecRotate200FollowsDeployment: a 200 without headers (the example's
// other answer) is followed through the deployment, whose status counts at
// once.
func TestSpecRotate200FollowsDeployment(t *testing.T) {
	st, c, _ := newFixture(t, true)
	serveInOrder(st, rotatePath, fault{times: 1, status: http.StatusOK, body: specExample(t, "ProductDeployment/RotateSecrets.json", "200")})
	serveInOrder(st, deploymentPath, fault{times: 1, status: http.StatusOK, body: specDeployment(t, "microsoft.eventhub", "SecretRotationSucceeded", nil)})
	var (
		op    Operation
		final *OperationStatus
		err   error
	)
	onFakeClock(t, st.clock, func() {
		if op, err = c.RotateSecrets(context.Background(), "microsoft.eventhub"); err == nil {
			final, err = c.PollOperation(context.Background(), op, nil)
		}
	})
	if err != nil || final.Status != "Succeeded" || !op.Completed || st.clock.Since(epoch) != 0 {
		t.Fatalf("op %+v, final %+v, err %v, after %s", op, final, err, st.clock.Since(epoch))
	}
}

// TestSpecValidateLongRunning (defect 2): validate is a long-running
// operation in the specification; the client follows it, and a validation
// that ends Failed is an error with the stamp's reason.
func TestSpecValidateLongRunning(t *testing.T) {
	opURL := func(st *stamp) string {
		return st.srv.URL + "/subscriptions/" + testSubscription + specOpPath + "?api-version=2019-01-01"
	}
	reason := map[string]any{"code": "InvalidCertificate", "message": "The certificate's DNS names do not match *.eventhub.local.azurestack.external."}
	tests := map[string]struct {
		async   bool
		final   string
		errBody any
		wantErr string
	}{
		"200 as in Validate.json": {},
		"202, Succeeded":          {async: true, final: "Succeeded"},
		"202, Failed with a reason": {async: true, final: "Failed", errBody: reason,
			wantErr: "hub east: validate secret microsoft.eventhub.1.2003.0.0/aseh-ssl-gateway-pfx: operation failed: InvalidCertificate: The certificate's DNS names do not match *.eventhub.local.azurestack.external."},
		"202, Failed as the specification's OperationResult (no error field)": {async: true, final: "Failed",
			wantErr: "hub east: validate secret microsoft.eventhub.1.2003.0.0/aseh-ssl-gateway-pfx: operation failed: the stamp gave no reason"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			st, c, _ := newFixture(t, true)
			validate := "POST " + armPrefix + "/productPackages/microsoft.eventhub.1.2003.0.0/secrets/aseh-ssl-gateway-pfx/validate"
			if tc.async {
				serveInOrder(st, validate, fault{times: 1, status: http.StatusAccepted,
					header: map[string]string{"Azure-AsyncOperation": opURL(st), "Retry-After": "5"}})
				serveInOrder(st, "GET /subscriptions/"+testSubscription+specOpPath,
					fault{times: 2, status: http.StatusOK, body: specExample(t, "OperationResults/Get.json", "200")},
					fault{times: 1, status: http.StatusOK, body: specOperation(t, tc.final, tc.errBody)})
			} else {
				serveInOrder(st, validate, fault{times: 1, status: http.StatusOK, body: specExample(t, "ProductSecret/Validate.json", "200")})
			}
			var err error
			onFakeClock(t, st.clock, func() {
				err = c.ValidateSecret(context.Background(), "microsoft.eventhub.1.2003.0.0", "aseh-ssl-gateway-pfx", goodPFX(t, st), canaryPFXPassword)
			})
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || err.Error() != tc.wantErr) {
				t.Fatalf("error = %v, want %q", err, tc.wantErr)
			}
			if tc.wantErr != "" && !errors.Is(err, ErrOperationFailed) {
				t.Errorf("%v does not wrap ErrOperationFailed", err)
			}
			wantPolls := 0
			if tc.async {
				wantPolls = 3
			}
			if got := st.callsMatching(specOpPath); got != wantPolls {
				t.Errorf("%d polls of the operation, want %d", got, wantPolls)
			}
			assertNoLeak(t, "error", errString(err))
		})
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestSpecDeploymentErrorShapes (defect 3): properties.error is read in the
// specification's ExtendedErrorInfo shape and in the bare shape.
func TestSpecDeploymentErrorShapes(t *testing.T) {
	tests := map[string]struct {
		errBody any
		want    *ErrorInfo
	}{
		"ExtendedErrorInfo": {extendedError, &ErrorInfo{Code: "SecretRotationFailed", Message: "Action plan step 'RestartGateway' failed.",
			Details: []ErrorInfo{{Code: "Timeout", Message: "The gateway VM did not come back."}}}},
		"bare":   {map[string]any{"code": "Conflict", "message": "Busy."}, &ErrorInfo{Code: "Conflict", Message: "Busy."}},
		"string": {"Something broke.", &ErrorInfo{Message: "Something broke."}},
		"absent": {nil, nil},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			st, c, _ := newFixture(t, true)
			serveInOrder(st, deploymentPath, fault{times: 1, status: http.StatusOK,
				body: specDeployment(t, "microsoft.eventhub", "SecretRotationFailed", tc.errBody)})
			dep, err := c.GetProductDeployment(context.Background(), "microsoft.eventhub")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, dep.Properties.Error); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

// TestSpecFailureReasonFromDeployment (defect 4): an operation result ends
// Failed without an error field, as the specification's OperationResult
// has none; the reason comes from the deployment's properties.error.
func TestSpecFailureReasonFromDeployment(t *testing.T) {
	st, c, _ := newFixture(t, true)
	u := st.srv.URL + "/subscriptions/" + testSubscription + specOpPath + "?api-version=2019-01-01"
	serveInOrder(st, rotatePath, fault{times: 1, status: http.StatusAccepted, header: map[string]string{"Azure-AsyncOperation": u}})
	serveInOrder(st, "GET /subscriptions/"+testSubscription+specOpPath,
		fault{times: 1, status: http.StatusOK, body: specOperation(t, "RotatingSecrets", nil)},
		fault{times: 1, status: http.StatusOK, body: specOperation(t, "Failed", nil)})
	serveInOrder(st, deploymentPath, fault{times: 1, status: http.StatusOK,
		body: specDeployment(t, "microsoft.eventhub", "SecretRotationFailed", extendedError)})
	var err error
	onFakeClock(t, st.clock, func() {
		var op Operation
		if op, err = c.RotateSecrets(context.Background(), "microsoft.eventhub"); err == nil {
			_, err = c.PollOperation(context.Background(), op, nil)
		}
	})
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, ErrOperationFailed) {
		t.Fatalf("error = %v, want a failed operation", err)
	}
	if diff := cmp.Diff("SecretRotationFailed: Action plan step 'RestartGateway' failed.", e.Code+": "+e.Message); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
}

// TestSpecLists (defect 5): lists come as the example's bare array or as
// the schema's {value, nextLink}, whose nextLink is followed.
func TestSpecLists(t *testing.T) {
	st, c, _ := newFixture(t, true)
	ctx := context.Background()
	list := "GET " + armPrefix + "/productDeployments"
	serveInOrder(st, list, fault{times: 1, status: http.StatusOK, body: specExample(t, "ProductDeployment/List.json", "200")})
	deps, err := c.ListProductDeployments(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range deps {
		got = append(got, d.ProductID()+"="+d.PackageID())
	}
	want := []string{"microsoft.iothubpreview=", "microsoft.eventhubstaging=microsoft.eventhubstaging.1.3.1"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("bare array (-want +got)\n%s", diff)
	}

	// The schema's envelope over two pages, the second page a bare array.
	var items []json.RawMessage
	if err := json.Unmarshal([]byte(specExample(t, "ProductDeployment/List.json", "200")), &items); err != nil {
		t.Fatal(err)
	}
	page1, _ := json.Marshal(map[string]any{"value": items[:1], "nextLink": st.srv.URL + armPrefix + "/productDeployments?api-version=2019-01-01&$skiptoken=1"})
	page2, _ := json.Marshal(items[1:])
	serveInOrder(st, list, fault{times: 1, status: http.StatusOK, body: string(page1)}, fault{times: 1, status: http.StatusOK, body: string(page2)})
	deps, err = c.ListProductDeployments(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got = got[:0]
	for _, d := range deps {
		got = append(got, d.ProductID()+"="+d.PackageID())
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("paged (-want +got)\n%s", diff)
	}

	secrets := "GET " + armPrefix + "/productPackages/microsoft.nullprovider.1.1/secrets"
	serveInOrder(st, secrets, fault{times: 1, status: http.StatusOK, body: specExample(t, "ProductSecret/List.json", "200")})
	secs, err := c.ListProductSecrets(ctx, "microsoft.nullprovider.1.1")
	if err != nil {
		t.Fatal(err)
	}
	got = got[:0]
	for _, s := range secs {
		_, known := s.Properties.SecretState.Expiration()
		got = append(got, s.SecretName()+":"+s.Properties.SecretKind+":"+s.Properties.SecretState.Status+":"+map[bool]string{true: "expiry", false: "no expiry"}[known])
	}
	want = []string{"AdHoc:AdHoc:NotUploaded:no expiry", "TlsCertificate:Certificate:NotUploaded:no expiry",
		"ExternalPassword:Password:NotUploaded:no expiry", "ExternalSymmetricKey:SymmetricKey:NotUploaded:no expiry"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("secrets (-want +got)\n%s", diff)
	}
}
