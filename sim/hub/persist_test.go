package hub

import (
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/runbook-dev/runbook/clock"
)

// TestPersistenceAcrossRuns plays plan → apply → plan as three CLI runs,
// each a fresh server on the same state file, as -simulate does.
func TestPersistenceAcrossRuns(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, ".runbook", "sim", "hub.json")
	run := func(at time.Time) *fixture {
		f := start(t, Options{Clock: clock.NewFake(at), StatePath: path})
		return f
	}

	// Run 1 (plan): reads only.
	f1 := run(epoch)
	s1 := decode[secretJSON](t, f1.do(http.MethodGet, f1.arm(ehSecret), nil))
	before := f1.srv.State()
	f1.srv.Close()

	// Run 2 (apply), an hour later: import, rotate, leave it running.
	f2 := run(epoch.Add(time.Hour))
	if diff := cmp.Diff(before, f2.srv.State(), cmpopts.IgnoreFields(State{}, "Now", "TokensIssued")); diff != "" {
		t.Errorf("reloaded state differs (-saved +loaded):\n%s", diff)
	}
	cert := f2.importCert("microsoft.eventhub", ehSecret)
	op := f2.rotate("microsoft.eventhub")
	f2.clk.Advance(time.Hour)
	if got := decode[operationJSON](t, f2.do(http.MethodGet, op, nil)).PercentComplete; got != 25 {
		t.Errorf("progress after an hour: %v", got)
	}
	f2.srv.Close()

	// Run 3, later still: the rotation ended while no process ran, and the
	// operation URL from run 2 still answers.
	f3 := run(epoch.Add(6 * time.Hour))
	opURL := strings.Replace(op, f2.srv.URL(), f3.srv.URL(), 1)
	if got := decode[operationJSON](t, f3.do(http.MethodGet, opURL, nil)); got.Status != OpSucceeded {
		t.Errorf("operation after restart: %+v", got)
	}
	s3 := decode[secretJSON](t, f3.do(http.MethodGet, f3.arm(ehSecret), nil))
	want := s1
	want.Properties.SecretState = secretStateJSON{Status: SecretDeployed, RotationStatus: RotationDone, ExpirationDate: armTime(cert.NotAfter)}
	if diff := cmp.Diff(want, s3); diff != "" {
		t.Errorf("secret after apply (-want +got):\n%s", diff)
	}
	st := f3.srv.State()
	if p := st.Product("microsoft.eventhub"); p.RotateSecretsCalls != 1 || p.Secret("aseh-ssl-gateway-pfx").Deployed.ThumbprintSHA256 != cert.ThumbprintSHA256 {
		t.Errorf("product after apply: %+v", p)
	}
	savedAt, ok, err := StateSavedAt(path)
	if err != nil || !ok || !savedAt.Equal(epoch.Add(6*time.Hour)) {
		t.Errorf("StateSavedAt = %v, %v, %v", savedAt, ok, err)
	}

	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	assertNoCanary(t, "state file", string(data))
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("state directory holds %d files, want only the state file", len(entries))
	}
	if fi, err := os.Stat(filepath.Dir(path)); err != nil || (runtime.GOOS != "windows" && fi.Mode().Perm() != 0o700) {
		t.Errorf("state directory: %v, %v; want mode 0700", fi, err)
	}
}

func TestPersistenceScenarioOnlyOnCreate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hub.json")
	sc, err := ScenarioByName("with-mysql")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(Options{Clock: clock.NewFake(epoch), StatePath: path, Scenario: &sc}); err != nil {
		t.Fatal(err)
	}
	def := DefaultScenario()
	s, err := Open(Options{Clock: clock.NewFake(epoch), StatePath: path, Scenario: &def})
	if err != nil {
		t.Fatal(err)
	}
	if st := s.State(); st.Scenario != "with-mysql" || st.Product("microsoft.mysqlrp") == nil {
		t.Errorf("reopened stamp is %q with %d products", st.Scenario, len(st.Products))
	}
}

func TestPersistenceBadFiles(t *testing.T) {
	tests := map[string]struct {
		content string
		want    string
	}{
		"not JSON":     {"{", "not valid JSON"},
		"other format": {`{"format": 99, "state": {}}`, "format 99"},
		"no state":     {`{"format": 1}`, "format 1"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "hub.json")
			if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Open(Options{StatePath: path})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Open = %v, want an error mentioning %q", err, tc.want)
			}
			if _, _, err := StateSavedAt(path); err == nil {
				t.Error("StateSavedAt read a bad file")
			}
		})
	}
	if _, ok, err := StateSavedAt(filepath.Join(t.TempDir(), "none.json")); ok || err != nil {
		t.Errorf("StateSavedAt of a missing file: %v %v", ok, err)
	}
}
