package hub

import (
	"fmt"
	"net/http"
	"path"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/runbook-dev/runbook/sim/certs"
)

// rotate starts a rotation of product and returns the operation URL.
func (f *fixture) rotate(product string) string {
	f.t.Helper()
	res := f.do(http.MethodPost, f.arm("/productDeployments/"+product+"/rotateSecrets"), nil)
	if res.Status != http.StatusAccepted {
		f.t.Fatalf("rotateSecrets %s: %d %s", product, res.Status, res.Body)
	}
	return res.Header.Get("Azure-AsyncOperation")
}

// importCert imports a good certificate for the product's first secret.
func (f *fixture) importCert(product, secretPath string) *CertInfo {
	f.t.Helper()
	pfx, err := f.srv.ProductPFX(product, certs.FlawNone, canaryPFXPassword)
	if err != nil {
		f.t.Fatal(err)
	}
	if res := f.do(http.MethodPost, f.arm(secretPath+"/import"), pfxBody(pfx, canaryPFXPassword)); res.Status != 200 {
		f.t.Fatalf("import: %d %s", res.Status, res.Body)
	}
	leaf, err := certs.ReadPFX(pfx, canaryPFXPassword)
	if err != nil {
		f.t.Fatal(err)
	}
	return &CertInfo{ThumbprintSHA256: certs.SHA256Thumbprint(leaf), NotAfter: leaf.NotAfter}
}

func TestRotationProgress(t *testing.T) {
	type want struct {
		Status  string
		Percent float64
		EndTime string
	}
	tests := map[string]struct {
		elapsed time.Duration
		want    want
	}{
		"at start":      {0, want{OpRotatingSecrets, 0, "0001-01-01T00:00:00Z"}},
		"one hour":      {time.Hour, want{OpRotatingSecrets, 25, "0001-01-01T00:00:00Z"}},
		"half way":      {2 * time.Hour, want{OpRotatingSecrets, 50, "0001-01-01T00:00:00Z"}},
		"a minute left": {4*time.Hour - time.Minute, want{OpRotatingSecrets, 99.58, "0001-01-01T00:00:00Z"}},
		"done":          {4 * time.Hour, want{OpSucceeded, 100, "2026-11-29T02:00:00.0000000Z"}},
		"long after":    {30 * time.Hour, want{OpSucceeded, 100, "2026-11-29T02:00:00.0000000Z"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := start(t, Options{})
			op := f.rotate("microsoft.eventhub")
			f.clk.Advance(tc.elapsed)
			res := f.do(http.MethodGet, op, nil)
			got := decode[operationJSON](t, res)
			if diff := cmp.Diff(tc.want, want{got.Status, got.PercentComplete, got.EndTime}); diff != "" {
				t.Errorf("operation (-want +got):\n%s", diff)
			}
			if got.StartTime != "2026-11-28T22:00:00.0000000Z" {
				t.Errorf("startTime %s", got.StartTime)
			}
			if ra := res.Header.Get("Retry-After"); (got.Status == OpRotatingSecrets) != (ra == "60") {
				t.Errorf("status %s with Retry-After %q", got.Status, ra)
			}
		})
	}
}

// observed is what a client sees of a product after a scenario.
type observed struct {
	Deployment     string
	DeploymentErr  string
	Secret         string
	RotationStatus string
	ExpirationDate string
	Operations     []string // status@percent of each operation, oldest first
	InternalOnly   []bool
	Deployed       string // thumbprint of the deployed certificate (State only)
}

func observe(f *fixture, product, secretPath string) observed {
	d := decode[deploymentJSON](f.t, f.do(http.MethodGet, f.arm("/productDeployments/"+product), nil))
	s := decode[secretJSON](f.t, f.do(http.MethodGet, f.arm(secretPath), nil))
	o := observed{
		Deployment: d.Properties.Status, Secret: s.Properties.SecretState.Status,
		RotationStatus: s.Properties.SecretState.RotationStatus, ExpirationDate: s.Properties.SecretState.ExpirationDate,
	}
	if d.Properties.Error != nil {
		// The specification's ExtendedErrorInfo: {"error": {"code", …}}.
		if e, ok := d.Properties.Error.(map[string]any)["error"].(map[string]any); ok {
			o.DeploymentErr, _ = e["code"].(string)
		} else {
			o.DeploymentErr = fmt.Sprintf("not ExtendedErrorInfo: %v", d.Properties.Error)
		}
	}
	st := f.srv.State()
	for _, op := range st.Operations {
		if op.Product == product {
			o.Operations = append(o.Operations, op.Status+"@"+formatPercent(op.PercentComplete))
			o.InternalOnly = append(o.InternalOnly, op.InternalOnly)
		}
	}
	if sec := st.product(product).secret(path.Base(secretPath)); sec != nil && sec.Deployed != nil {
		o.Deployed = sec.Deployed.ThumbprintSHA256
	}
	return o
}

func TestRotationStateMachine(t *testing.T) {
	const sqlSecret = "/productPackages/microsoft.sqlrp.2.0.0.2/secrets/SSLCert"
	ehExpiry := armTime(epoch.Add(25 * day))
	tests := map[string]struct {
		scenario string
		product  string
		secret   string
		run      func(f *fixture) (want observed)
	}{
		"import, rotate, complete": {
			product: "microsoft.eventhub", secret: ehSecret,
			run: func(f *fixture) observed {
				c := f.importCert("microsoft.eventhub", ehSecret)
				f.rotate("microsoft.eventhub")
				f.clk.Advance(4 * time.Hour)
				return observed{
					Deployment: StatusSecretRotationSucceeded, Secret: SecretDeployed, RotationStatus: RotationDone,
					ExpirationDate: armTime(c.NotAfter), Operations: []string{"Succeeded@100"}, InternalOnly: []bool{false},
					Deployed: c.ThumbprintSHA256,
				}
			},
		},
		"uploaded, rotation running": {
			product: "microsoft.eventhub", secret: ehSecret,
			run: func(f *fixture) observed {
				f.importCert("microsoft.eventhub", ehSecret)
				f.rotate("microsoft.eventhub")
				f.clk.Advance(3 * time.Hour)
				return observed{
					Deployment: StatusSecretRotationRunning, Secret: SecretUploaded, RotationStatus: RotationRunning,
					ExpirationDate: ehExpiry, Operations: []string{"RotatingSecrets@75"}, InternalOnly: []bool{false},
				}
			},
		},
		"rotate with nothing uploaded rotates internal secrets only": {
			product: "microsoft.sqlrp", secret: sqlSecret,
			run: func(f *fixture) observed {
				f.rotate("microsoft.sqlrp")
				f.clk.Advance(15 * time.Minute)
				return observed{
					Deployment: StatusSecretRotationSucceeded, Secret: SecretDeployed, RotationStatus: RotationDone,
					ExpirationDate: armTime(epoch.Add(200 * day)), Operations: []string{"Succeeded@100"}, InternalOnly: []bool{true},
				}
			},
		},
		"scripted failure at 60 %": {
			scenario: "rotation-fails", product: "microsoft.eventhub", secret: ehSecret,
			run: func(f *fixture) observed {
				f.importCert("microsoft.eventhub", ehSecret)
				f.rotate("microsoft.eventhub")
				f.clk.Advance(4 * time.Hour)
				return observed{
					Deployment: StatusSecretRotationFailed, DeploymentErr: "SecretRotationFailed",
					Secret: SecretUploaded, RotationStatus: RotationFailed, ExpirationDate: ehExpiry,
					Operations: []string{"Failed@60"}, InternalOnly: []bool{false},
				}
			},
		},
		"retry after the scripted failure succeeds": {
			scenario: "rotation-fails", product: "microsoft.eventhub", secret: ehSecret,
			run: func(f *fixture) observed {
				c := f.importCert("microsoft.eventhub", ehSecret)
				f.rotate("microsoft.eventhub")
				f.clk.Advance(3 * time.Hour)
				f.rotate("microsoft.eventhub")
				f.clk.Advance(4 * time.Hour)
				return observed{
					Deployment: StatusSecretRotationSucceeded, Secret: SecretDeployed, RotationStatus: RotationDone,
					ExpirationDate: armTime(c.NotAfter), Operations: []string{"Failed@60", "Succeeded@100"},
					InternalOnly: []bool{false, false}, Deployed: c.ThumbprintSHA256,
				}
			},
		},
		"fault fails the running rotation at 30 %": {
			product: "microsoft.sqlrp", secret: sqlSecret,
			run: func(f *fixture) observed {
				f.importCert("microsoft.sqlrp", sqlSecret)
				f.rotate("microsoft.sqlrp")
				f.clk.Advance(3 * time.Minute) // 20 %
				f.srv.Inject(Fault{Kind: FaultFailRotation, Product: "microsoft.sqlrp", AtPercent: 30})
				f.clk.Advance(time.Hour)
				return observed{
					Deployment: StatusSecretRotationFailed, DeploymentErr: "SecretRotationFailed",
					Secret: SecretUploaded, RotationStatus: RotationFailed, ExpirationDate: armTime(epoch.Add(200 * day)),
					Operations: []string{"Failed@30"}, InternalOnly: []bool{false},
				}
			},
		},
		"fault past the failure point waits for the next rotation": {
			product: "microsoft.sqlrp", secret: sqlSecret,
			run: func(f *fixture) observed {
				f.rotate("microsoft.sqlrp")
				f.clk.Advance(6 * time.Minute) // 40 %
				f.srv.Inject(Fault{Kind: FaultFailRotation, AtPercent: 30})
				f.clk.Advance(time.Hour)
				f.rotate("microsoft.sqlrp")
				f.clk.Advance(time.Hour)
				return observed{
					Deployment: StatusSecretRotationFailed, DeploymentErr: "SecretRotationFailed",
					Secret: SecretDeployed, RotationStatus: RotationFailed, ExpirationDate: armTime(epoch.Add(200 * day)),
					Operations: []string{"Succeeded@100", "Failed@30"}, InternalOnly: []bool{true, true},
				}
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			opts := Options{}
			if tc.scenario != "" {
				sc, err := ScenarioByName(tc.scenario)
				if err != nil {
					t.Fatal(err)
				}
				opts.Scenario = &sc
			}
			f := start(t, opts)
			want := tc.run(f)
			if diff := cmp.Diff(want, observe(f, tc.product, tc.secret)); diff != "" {
				t.Errorf("after the scenario (-want +got):\n%s", diff)
			}
		})
	}
}

// TestFailedOperationBody: a failed operation result has the
// specification's shape (no error field) unless the stamp adds the field,
// and the deployment carries the reason in either case.
func TestFailedOperationBody(t *testing.T) {
	for _, extra := range []bool{false, true} {
		t.Run(fmt.Sprintf("operation errors %v", extra), func(t *testing.T) {
			sc := DefaultScenario()
			sc.Replies.OperationErrors = extra
			f := start(t, Options{Scenario: &sc, Faults: []Fault{{Kind: FaultFailRotation, Product: "microsoft.eventhub", AtPercent: 60}}})
			op := f.rotate("microsoft.eventhub")
			f.clk.Advance(5 * time.Hour)
			got := decode[operationJSON](t, f.do(http.MethodGet, op, nil))
			if got.Status != OpFailed || (got.Error != nil) != extra ||
				got.EndTime != armTime(epoch.Add(2*time.Hour+24*time.Minute)) || got.PercentComplete != 60 {
				t.Errorf("failed operation: %+v", got)
			}
			if extra && got.Error.Code != "SecretRotationFailed" {
				t.Errorf("error field: %+v", got.Error)
			}
			body := string(f.do(http.MethodGet, f.arm("/productDeployments/microsoft.eventhub"), nil).Body)
			want := `"error":{"error":{"code":"SecretRotationFailed"`
			if extra {
				want = `"error":{"code":"SecretRotationFailed"`
			}
			if !strings.Contains(body, want) {
				t.Errorf("deployment %s, want %s", body, want)
			}
		})
	}
}

func TestRotationConflicts(t *testing.T) {
	f := start(t, Options{})
	f.rotate("microsoft.eventhub")
	again := f.do(http.MethodPost, f.arm("/productDeployments/Microsoft.EventHub/rotateSecrets"), nil)
	if again.Status != http.StatusConflict || again.armCode() != "Conflict" {
		t.Errorf("second rotateSecrets: %d %s", again.Status, again.Body)
	}
	pfx, err := f.srv.ProductPFX("microsoft.eventhub", certs.FlawNone, "pw")
	if err != nil {
		t.Fatal(err)
	}
	imp := f.do(http.MethodPost, f.arm(ehSecret+"/import"), pfxBody(pfx, "pw"))
	if imp.Status != http.StatusConflict {
		t.Errorf("import during rotation: %d %s", imp.Status, imp.Body)
	}
	// Another product rotates independently.
	f.rotate("microsoft.sqlrp")

	// Concurrent requests: exactly one wins once the first rotation ends.
	f.clk.Advance(4 * time.Hour)
	var wg sync.WaitGroup
	statuses := make([]int, 8)
	for i := range statuses {
		wg.Go(func() {
			statuses[i] = f.do(http.MethodPost, f.arm("/productDeployments/microsoft.eventhub/rotateSecrets"), nil).Status
		})
	}
	wg.Wait()
	counts := map[int]int{}
	for _, s := range statuses {
		counts[s]++
	}
	if diff := cmp.Diff(map[int]int{202: 1, 409: 7}, counts); diff != "" {
		t.Errorf("concurrent rotateSecrets statuses (-want +got):\n%s", diff)
	}
	st := f.srv.State()
	p := st.product("microsoft.eventhub")
	if p.RotateSecretsCalls != 10 || p.Rotations != 2 {
		t.Errorf("rotateSecrets calls %d, rotations %d; want 10 and 2", p.RotateSecretsCalls, p.Rotations)
	}
	if res := f.do(http.MethodPost, f.arm("/productDeployments/microsoft.nothing/rotateSecrets"), nil); res.Status != 404 {
		t.Errorf("rotating an unknown product: %d", res.Status)
	}
}

func TestRotateSecretsResponse(t *testing.T) {
	f := start(t, Options{})
	for _, tc := range []struct{ product, wantRetry string }{{"microsoft.eventhub", "60"}, {"microsoft.sqlrp", "5"}} {
		product, wantRetry := tc.product, tc.wantRetry
		res := f.do(http.MethodPost, f.arm("/productDeployments/"+product+"/rotateSecrets"), nil)
		aao, loc := res.Header.Get("Azure-AsyncOperation"), res.Header.Get("Location")
		wantPrefix := f.srv.URL() + f.srv.prefix() + "/operationresults/"
		if res.Status != 202 || len(res.Body) != 0 || aao != loc || len(aao) <= len(wantPrefix) || aao[:len(wantPrefix)] != wantPrefix ||
			res.Header.Get("Retry-After") != wantRetry {
			t.Errorf("%s: %d %q headers %v", product, res.Status, res.Body, res.Header)
		}
	}
	// Operation ids are deterministic: a second stamp hands out the same.
	g := start(t, Options{})
	a, b := f.srv.State().Operations[0].ID, ""
	g.rotate("microsoft.eventhub")
	b = g.srv.State().Operations[0].ID
	if a != b {
		t.Errorf("operation ids differ between identical stamps: %s vs %s", a, b)
	}
}

func TestRotateResponseShapes(t *testing.T) {
	type shape struct {
		Status                   int
		AsyncOperation, Location bool
		RetryAfter               string
	}
	tests := map[string]struct {
		style RotateResponse
		want  shape
	}{
		"async":         {RotateAsync, shape{202, true, true, "60"}},
		"location only": {RotateLocationOnly, shape{202, false, true, "60"}},
		"no headers":    {RotateNoHeaders, shape{200, false, false, ""}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := start(t, Options{RotateResponse: tc.style})
			res := f.do(http.MethodPost, f.arm("/productDeployments/microsoft.eventhub/rotateSecrets"), nil)
			got := shape{res.Status, res.Header.Get("Azure-AsyncOperation") != "", res.Header.Get("Location") != "", res.Header.Get("Retry-After")}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("response (-want +got):\n%s", diff)
			}
			if loc := res.Header.Get("Location"); loc != "" {
				if op := decode[operationJSON](t, f.do(http.MethodGet, loc, nil)); op.Status != OpRotatingSecrets {
					t.Errorf("Location answers %+v", op)
				}
			}
			d := decode[deploymentJSON](t, f.do(http.MethodGet, f.arm("/productDeployments/microsoft.eventhub"), nil))
			if d.Properties.Status != StatusSecretRotationRunning {
				t.Errorf("deployment status %s", d.Properties.Status)
			}
		})
	}
}
