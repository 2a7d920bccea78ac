package steps

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/runbook-dev/runbook/clock"
	"github.com/runbook-dev/runbook/executor"
	"github.com/runbook-dev/runbook/executor/journal"
	"github.com/runbook-dev/runbook/sim/certs"
	simhub "github.com/runbook-dev/runbook/sim/hub"
	"github.com/runbook-dev/runbook/state"
)

// sqlStep imports one certificate into the SSLCert secret of package pkg.
func sqlStep(pkg string) string {
	return `
step "product_secret" "cert" {
  hub          = hub.east
  package_id   = "` + pkg + `"
  secret_name  = "SSLCert"
  pfx_file     = "dbadapter.pfx"
  pfx_password = var.pfx_password
}`
}

// TestProductSecretHistoryFromRealApply applies a product_secret through
// the executor with a real journal, reduces the journal to history as the
// CLI does, and plans again from it: the history holds every key the type
// declared, the same step is then a no-op, and the same certificate meant
// for another package is a change (the package-mismatch rule, which only
// history from a real apply can prove reachable).
func TestProductSecretHistoryFromRealApply(t *testing.T) {
	sc, err := simhub.ScenarioByName("with-mysql")
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, fixtureOptions{scenario: &sc})
	pfx, err := f.srv.ProductPFX("microsoft.sqlrp", certs.FlawNone, canaryPFXPassword)
	if err != nil {
		t.Fatal(err)
	}
	f.writeFile("dbadapter.pfx", pfx)
	f.load(fixtureOptions{}, sqlStep("microsoft.sqlrp.2.0.0.2"))

	runs := filepath.Join(t.TempDir(), "runs")
	f.applyJournalled(runs)
	sums, err := journal.List(runs)
	if err != nil {
		t.Fatal(err)
	}
	hist := state.BuildHistory(sums, journal.Load)
	h := hist.Of(f.rb.Steps["cert"].Address())
	if h == nil {
		t.Fatal("no history for step.cert after a successful apply")
	}
	var keys []string
	for _, k := range NewProductSecret(nil).ResultKeys() {
		if h.LastSuccess[k] == "" {
			t.Errorf("history lacks result key %q: %v", k, h.LastSuccess)
		}
		keys = append(keys, k)
	}
	if diff := cmp.Diff(len(keys), len(h.LastSuccess)); diff != "" {
		t.Errorf("history keys %v, want exactly %v", h.LastSuccess, keys)
	}
	data, err := os.ReadFile(filepath.Join(runs, "run1.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	assertNoLeak(t, "the journal", string(data))

	tests := map[string]struct {
		pkg, action, reason string
	}{
		"same package": {pkg: "microsoft.sqlrp.2.0.0.2", action: "no-op",
			reason: "the stamp holds this certificate, uploaded and waiting for a secret rotation"},
		"other package": {pkg: "microsoft.mysqlrp.2.0.0.2", action: "update",
			reason: "the last import went to package microsoft.sqlrp.2.0.0.2, not microsoft.mysqlrp.2.0.0.2"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f.load(fixtureOptions{}, sqlStep(tc.pkg))
			v := f.view(f.planPS("cert", hist.Of(f.rb.Steps["cert"].Address())))
			if v.Action != tc.action || v.Reason != tc.reason {
				t.Errorf("plan = %s (%s), want %s (%s)", v.Action, v.Reason, tc.action, tc.reason)
			}
		})
	}
}

// applyJournalled plans and applies the fixture's runbook through the
// executor, journalling the run in dir as the CLI does.
func (f *fixture) applyJournalled(dir string) {
	f.t.Helper()
	reg := executor.NewRegistry(NewProductSecret(f.conns))
	planned, diags := executor.Plan(context.Background(), executor.PlanOptions{Runbook: f.rb, Registry: reg, Clock: clock.Real, Key: f.key})
	if diags.HasErrors() {
		f.t.Fatalf("plan: %s", diags.Error())
	}
	j, err := journal.Create(dir, "run1", clock.Real)
	if err != nil {
		f.t.Fatal(err)
	}
	if err := j.Append(journal.Record{Type: journal.RunStarted, Run: "run1", PlanID: planned.ID}); err != nil {
		f.t.Fatal(err)
	}
	var res *executor.ApplyResult
	f.run(func() {
		res = executor.Apply(context.Background(), executor.ApplyOptions{
			Runbook: f.rb, Planned: planned, Registry: reg, Clock: clock.Real, Journal: j,
			Fingerprint: func(b []byte) string { return executor.Fingerprint(f.key, b) },
		})
	})
	if err := j.Close(); err != nil {
		f.t.Fatal(err)
	}
	if !res.OK() {
		f.t.Fatalf("apply failed: %+v", res.Steps["step.cert"])
	}
}
