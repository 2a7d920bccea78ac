package hub

// The client against the simulated stamp's reply shapes (simhub.Replies),
// one test per reply the specification allows and the client once got
// wrong; spec_test.go has the same cases against the specification's own
// example bodies.

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/runbook-dev/runbook/sim/certs"
	simhub "github.com/runbook-dev/runbook/sim/hub"
)

func simScenario(t *testing.T, name string, edit func(*simhub.Scenario)) simhub.Options {
	t.Helper()
	sc, err := simhub.ScenarioByName(name)
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(&sc)
	}
	return simhub.Options{Scenario: &sc}
}

// TestSimBare202FollowsDeployment (defect 1): against the bare-202 stamp
// the rotation is followed for its whole four hours.
func TestSimBare202FollowsDeployment(t *testing.T) {
	f := startSim(t, simScenario(t, "bare-202", nil))
	c, _ := f.client(t, func(cfg *Config) { cfg.PollInterval = 10 * time.Minute })
	ctx := context.Background()
	var (
		op     Operation
		final  *OperationStatus
		counts = map[string]int{}
		err    error
	)
	onFakeClock(t, f.clock, func() {
		if op, err = c.RotateSecrets(ctx, "microsoft.eventhub"); err == nil {
			final, err = c.PollOperation(ctx, op, func(p Progress) { counts[p.Status]++ })
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if !op.FollowsDeployment || final.Status != "Succeeded" {
		t.Errorf("operation %+v ended %+v", op, final)
	}
	// Polls at 0, 10m, …, 3h50m see the rotation; the one at 4h its end.
	if diff := cmp.Diff(map[string]int{"SecretRotationInProgress": 24, "Succeeded": 1}, counts); diff != "" {
		t.Errorf("progress (-want +got)\n%s", diff)
	}
	if got := f.clock.Since(epoch); got != 4*time.Hour {
		t.Errorf("followed for %s, want 4h", got)
	}
}

// TestSimAsyncValidate (defect 2): against the async-secrets stamp a
// rejected certificate fails validation with the stamp's reason, a good
// one passes, and an import lands only when its operation ends.
func TestSimAsyncValidate(t *testing.T) {
	for _, extra := range []bool{true, false} {
		t.Run(map[bool]string{true: "with error field", false: "specification's shape"}[extra], func(t *testing.T) {
			f := startSim(t, simScenario(t, "async-secrets", func(sc *simhub.Scenario) { sc.Replies.OperationErrors = extra }))
			c, _ := f.client(t)
			ctx := context.Background()
			const pkg, name = "microsoft.eventhub.1.2003.0.0", "aseh-ssl-gateway-pfx"
			bad, err := f.srv.ProductPFX("microsoft.eventhub", certs.FlawWrongSAN, canaryPFXPassword)
			if err != nil {
				t.Fatal(err)
			}
			good, err := f.srv.ProductPFX("microsoft.eventhub", certs.FlawNone, canaryPFXPassword)
			if err != nil {
				t.Fatal(err)
			}
			var badErr, goodErr, importErr error
			var status string
			onFakeClock(t, f.clock, func() {
				badErr = c.ValidateSecret(ctx, pkg, name, bad, canaryPFXPassword)
				goodErr = c.ValidateSecret(ctx, pkg, name, good, canaryPFXPassword)
				var op Operation
				if op, importErr = c.ImportSecret(ctx, pkg, name, good, canaryPFXPassword); importErr != nil || op.Done() {
					importErr = errors.Join(importErr, errors.New("import was not long-running"))
					return
				}
				if _, importErr = c.PollOperation(ctx, op, nil); importErr == nil {
					var sec *ProductSecret
					if sec, importErr = c.GetProductSecret(ctx, pkg, name); importErr == nil {
						status = sec.Properties.SecretState.Status
					}
				}
			})
			var e *Error
			if !errors.Is(badErr, ErrOperationFailed) || !errors.As(badErr, &e) {
				t.Fatalf("validate of a wrong-SAN certificate: %v", badErr)
			}
			if extra && (e.Code == "" || !strings.Contains(e.Message, "eventhub")) {
				t.Errorf("the stamp's reason is lost: %v", badErr)
			}
			if !extra && e.Message != "the stamp gave no reason" {
				t.Errorf("reason %q from an operation result without an error field", e.Message)
			}
			if goodErr != nil || importErr != nil || status != "Uploaded" {
				t.Errorf("good certificate: validate %v, import %v, secret %q", goodErr, importErr, status)
			}
			assertNoLeak(t, "error", badErr.Error())
		})
	}
}

// TestSimDeploymentErrorShapes (defect 3) and TestSimFailureReason (defect
// 4): a failed rotation's reason reaches the client from the deployment's
// ExtendedErrorInfo (the default stamp, whose operation results have no
// error field) and from the bare shape with the extra field
// (operation-errors).
func TestSimFailureReason(t *testing.T) {
	for _, name := range []string{"rotation-fails", "operation-errors"} {
		t.Run(name, func(t *testing.T) {
			f := startSim(t, simScenario(t, name, nil))
			c, _ := f.client(t)
			ctx := context.Background()
			var err error
			onFakeClock(t, f.clock, func() {
				var op Operation
				if op, err = c.RotateSecrets(ctx, "microsoft.eventhub"); err == nil {
					_, err = c.PollOperation(ctx, op, nil)
				}
			})
			var e *Error
			if !errors.Is(err, ErrOperationFailed) || !errors.As(err, &e) || e.Code != "SecretRotationFailed" || !strings.Contains(e.Message, "failed at 60%") {
				t.Fatalf("failed rotation: %v", err)
			}
			dep, err := c.GetProductDeployment(ctx, "microsoft.eventhub")
			if err != nil {
				t.Fatal(err)
			}
			if got := dep.Properties.Error.Reason(); got != e.Code+": "+strings.TrimRight(e.Message, ".") {
				t.Errorf("deployment error %q, operation error %v", got, err)
			}
		})
	}
}

// TestSimSpecExamples (defect 5 and the examples' other shapes): bare
// lists, a bootstrap-only deployment and a secret without expiry.
func TestSimSpecExamples(t *testing.T) {
	f := startSim(t, simScenario(t, "spec-examples", nil))
	c, _ := f.client(t)
	ctx := context.Background()
	deps, err := c.ListProductDeployments(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range deps {
		got = append(got, d.ProductID()+"="+d.PackageID())
	}
	want := []string{"microsoft.eventhub=microsoft.eventhub.1.2003.0.0", "microsoft.sqlrp=microsoft.sqlrp.2.0.0.2", "microsoft.iothubpreview="}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("deployments (-want +got)\n%s", diff)
	}
	secs, err := c.ListProductSecrets(ctx, "microsoft.iothubpreview.1.0.2")
	if err != nil || len(secs) != 1 {
		t.Fatalf("secrets: %v, %d", err, len(secs))
	}
	if _, known := secs[0].Properties.SecretState.Expiration(); known {
		t.Errorf("secret %+v has an expiry", secs[0].Properties.SecretState)
	}
	// With paging, the {value, nextLink} envelope is followed.
	paged := startSim(t, simhub.Options{PageSize: 1})
	pc, _ := paged.client(t)
	if deps, err := pc.ListProductDeployments(ctx); err != nil || len(deps) != 2 {
		t.Errorf("paged list: %d deployments, %v", len(deps), err)
	}
	if n := len(paged.srv.Calls()); n < 2 {
		t.Errorf("%d calls", n)
	}
}
