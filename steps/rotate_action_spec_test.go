package steps

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/runbook-dev/runbook/executor"
	simhub "github.com/runbook-dev/runbook/sim/hub"
)

func scenarioNamed(t *testing.T, name string) *simhub.Scenario {
	t.Helper()
	sc, err := simhub.ScenarioByName(name)
	if err != nil {
		t.Fatal(err)
	}
	return &sc
}

// TestRotateActionBare202 applies against a stamp that answers
// rotateSecrets with a 202 and no operation URL, as the specification's
// example does: the step journals the deployment's URL, reports the
// rotation running until the deployment leaves SecretRotationInProgress,
// and succeeds only after the four hours.
func TestRotateActionBare202(t *testing.T) {
	f := rotateFixture(t, scenarioNamed(t, "bare-202"))
	f.upload()
	planned := f.planRA("rotate", false)
	rec := &recorder{f: f}
	req := rec.request("rotate", planned)
	start := f.clk.Now()
	var ar *executor.ApplyResponse
	f.run(func() { ar = NewRotateAction(f.conns).Apply(context.Background(), req) })
	f.checkApply(ar)
	if ar.Err != nil {
		t.Fatalf("apply: %v", ar.Err)
	}
	if len(rec.handles) != 1 || !strings.Contains(rec.handles[0], "/productDeployments/microsoft.eventhub?") {
		t.Fatalf("handles = %q, want the product deployment's URL", rec.handles)
	}
	if took := f.clk.Since(start); took < 4*time.Hour || took > 4*time.Hour+2*time.Minute {
		t.Errorf("the step ended after %s of stamp time, want about 4h", took)
	}
	running := 0
	for _, p := range rec.progress {
		if p.Message == "SecretRotationInProgress" {
			running++
		}
	}
	// The stamp's default poll interval is 30 s: 4h of it is 480 polls.
	if last := rec.checkProgress(t); running < 400 || last.Message != "Succeeded" || last.Percent != 100 {
		t.Errorf("%d reports of the rotation running, last %+v; want it reported running to the end", running, last)
	}
	if p := f.eventhub(); p.Status != "SecretRotationSucceeded" || p.RotateSecretsCalls != 1 || p.Secrets[0].Status != "Deployed" {
		t.Errorf("stamp: %s after %d rotateSecrets, secret %s", p.Status, p.RotateSecretsCalls, p.Secrets[0].Status)
	}
	if diff := cmp.Diff(map[string]string{"operation": rec.handles[0], "status": "Succeeded", "product_id": "microsoft.eventhub"}, ar.Result); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
}

// TestRotateActionBare202Resume interrupts the apply mid-rotation and
// resumes from the journalled deployment URL: the rotation is followed to
// its end and never started twice.
func TestRotateActionBare202Resume(t *testing.T) {
	f := rotateFixture(t, scenarioNamed(t, "bare-202"))
	f.upload()
	planned := f.planRA("rotate", false)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rec := &recorder{f: f}
	req := rec.request("rotate", planned)
	progress, reports := req.Progress, 0
	req.Progress = func(p executor.Progress) {
		progress(p)
		if reports++; reports == 100 {
			cancel()
		}
	}
	var ar *executor.ApplyResponse
	f.run(func() { ar = NewRotateAction(f.conns).Apply(ctx, req) })
	if ar.Err == nil || !strings.Contains(ar.Err.Error(), "apply again to re-attach") {
		t.Fatalf("interrupted apply: %v", ar.Err)
	}
	if p := f.eventhub(); p.Status != "SecretRotationInProgress" {
		t.Fatalf("stamp %s after the interruption", p.Status)
	}
	rec2 := &recorder{f: f}
	rreq := &executor.ResumeRequest{ApplyRequest: *rec2.request("rotate", planned), Handle: rec.handles[0]}
	var rr *executor.ApplyResponse
	f.run(func() { rr = NewRotateAction(f.conns).Resume(context.Background(), rreq) })
	f.checkApply(rr)
	if rr.Err != nil {
		t.Fatalf("resume: %v", rr.Err)
	}
	p := f.eventhub()
	if p.Status != "SecretRotationSucceeded" || p.Rotations != 1 || len(f.calls("/rotateSecrets")) != 1 {
		t.Errorf("stamp %s after %d rotations and %d rotateSecrets", p.Status, p.Rotations, len(f.calls("/rotateSecrets")))
	}
}

// TestRotateActionFailureReason: the stamp's reason for a failed rotation
// reaches the step from the deployment's properties.error, in the
// specification's ExtendedErrorInfo shape (operation results without an
// error field) and in the bare shape with the extra field, and the next
// plan quotes it.
func TestRotateActionFailureReason(t *testing.T) {
	for _, name := range []string{"rotation-fails", "operation-errors"} {
		t.Run(name, func(t *testing.T) {
			f := rotateFixture(t, scenarioNamed(t, name))
			f.upload()
			rec := &recorder{f: f}
			req := rec.request("rotate", f.planRA("rotate", false))
			var ar *executor.ApplyResponse
			f.run(func() { ar = NewRotateAction(f.conns).Apply(context.Background(), req) })
			if ar.Err == nil || !strings.Contains(ar.Err.Error(), "operation failed: SecretRotationFailed: Secret rotation of product 'microsoft.eventhub' failed at 60%") {
				t.Fatalf("apply: %v", ar.Err)
			}
			plan := f.planRA("rotate", false)
			if len(plan.Diagnostics) != 1 || !strings.Contains(plan.Diagnostics[0].Detail, "failed: SecretRotationFailed: Secret rotation of product 'microsoft.eventhub' failed at 60%") {
				t.Errorf("plan after the failure: %v", plan.Diagnostics)
			}
		})
	}
}

// TestRotateActionBootstrapOnly: a product bootstrapped but never deployed
// (the specification's ProductDeployment/Get.json) names no package, so
// there is nothing uploaded to rotate.
func TestRotateActionBootstrapOnly(t *testing.T) {
	f := newFixture(t, fixtureOptions{scenario: scenarioNamed(t, "spec-examples")})
	f.load(fixtureOptions{}, `
step "rotate_action" "iot" {
  hub        = hub.east
  product_id = "microsoft.iothubpreview"
}`)
	v := f.view(f.planRA("iot", false))
	if v.Action != "no-op" || len(v.Diags) != 0 || v.Private["package_id"] != "" {
		t.Errorf("plan = %+v", v)
	}
}
