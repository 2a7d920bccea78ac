package steps

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/runbook-dev/runbook/executor"
	"github.com/runbook-dev/runbook/hub"
	"github.com/runbook-dev/runbook/sim/certs"
	simhub "github.com/runbook-dev/runbook/sim/hub"
	"github.com/runbook-dev/runbook/state"
)

const rotateSteps = eventhubStep + `
step "rotate_action" "rotate" {
  hub        = hub.east
  product_id = "microsoft.eventhub"
  depends_on = [step.cert]
}
step "rotate_action" "forced" {
  hub        = hub.east
  product_id = "microsoft.eventhub"
  force      = true
}
step "rotate_action" "ack" {
  hub                 = hub.east
  product_id          = "microsoft.eventhub"
  acknowledge_failure = true
}
step "rotate_action" "sql" {
  hub        = hub.east
  product_id = "microsoft.sqlrp"
  force      = true
}
step "rotate_action" "missing" {
  hub        = hub.east
  product_id = "microsoft.nothing"
}`

// rotateFixture is a fixture with the rotate steps loaded and a good
// certificate in eventhub.pfx.
func rotateFixture(t *testing.T, sc *simhub.Scenario) *fixture {
	t.Helper()
	f := newFixture(t, fixtureOptions{scenario: sc})
	f.load(fixtureOptions{}, rotateSteps)
	f.writeFile("eventhub.pfx", f.pfx(certs.FlawNone, canaryPFXPassword))
	return f
}

// upload imports eventhub.pfx through the product_secret step and returns
// its result.
func (f *fixture) upload() map[string]string {
	f.t.Helper()
	ar := f.applyPS("cert", f.planPS("cert", nil), nil)
	if ar.Err != nil {
		f.t.Fatalf("upload: %v", ar.Err)
	}
	return ar.Result
}

func (f *fixture) planRA(name string, depsChange bool) *executor.PlanResponse {
	var resp *executor.PlanResponse
	f.run(func() {
		resp = NewRotateAction(f.conns).Plan(context.Background(), f.planRequest(NewRotateAction(f.conns), name, nil, depsChange))
	})
	return resp
}

func (f *fixture) client() *hub.Client {
	f.t.Helper()
	c, _, err := f.conns.Hub(context.Background(), "east")
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

// eventhub returns the stamp's state of microsoft.eventhub.
func (f *fixture) eventhub() simhub.ProductState { return f.srv.State().Products[0] }

func TestRotateActionPlan(t *testing.T) {
	type want struct {
		Action, Summary, Reason string
		Diags                   []string
	}
	tests := map[string]struct {
		step       string
		upload     bool
		depsChange bool
		want       want
	}{
		"nothing uploaded": {step: "rotate", want: want{Action: "no-op",
			Reason: "no secret of microsoft.eventhub is waiting to be deployed; set force = true to rotate anyway"}},
		"dependency will upload": {step: "rotate", depsChange: true, want: want{Action: "run",
			Summary: "rotate the secrets of microsoft.eventhub (about 4h)", Reason: "a step it depends on will upload a new secret"}},
		"uploaded": {step: "rotate", upload: true, want: want{Action: "run",
			Summary: "rotate the secrets of microsoft.eventhub (about 4h)", Reason: "secret aseh-ssl-gateway-pfx uploaded and not yet deployed"}},
		"forced": {step: "forced", want: want{Action: "run",
			Summary: "rotate the secrets of microsoft.eventhub (about 4h)", Reason: "force = true"}},
		"other product": {step: "sql", want: want{Action: "run",
			Summary: "rotate the secrets of microsoft.sqlrp (about 15m)", Reason: "force = true"}},
		"unknown product": {step: "missing", want: want{
			Diags: []string{`error: Product not deployed @ "microsoft.nothing"`}}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := rotateFixture(t, nil)
			if tc.upload {
				f.upload()
			}
			v := f.view(f.planRA(tc.step, tc.depsChange))
			got := want{Action: v.Action, Summary: v.Summary, Reason: v.Reason, Diags: v.Diags}
			if len(got.Diags) > 0 {
				got.Action = ""
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("plan (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRotateActionPlanValues(t *testing.T) {
	f := rotateFixture(t, nil)
	f.upload()
	v := f.view(f.planRA("rotate", false))
	want := planView{
		Action: "run", Summary: "rotate the secrets of microsoft.eventhub (about 4h)",
		Reason: "secret aseh-ssl-gateway-pfx uploaded and not yet deployed",
		Remote: "status=DeploymentSucceeded;version=1.2003.0.0",
		Before: map[string]any{"product_id": "microsoft.eventhub", "package_id": "microsoft.eventhub.1.2003.0.0",
			"status": "DeploymentSucceeded", "secrets": map[string]any{"aseh-ssl-gateway-pfx": "Uploaded"}},
		After: map[string]any{"product_id": "microsoft.eventhub", "package_id": "microsoft.eventhub.1.2003.0.0",
			"status": "SecretRotationSucceeded", "secrets": map[string]any{"aseh-ssl-gateway-pfx": "Deployed"}},
		Outputs: map[string]any{"product_id": "microsoft.eventhub", "package_id": "microsoft.eventhub.1.2003.0.0",
			"status": "(known after apply)", "operation": "(known after apply)"},
		Private: map[string]string{"package_id": "microsoft.eventhub.1.2003.0.0", "status": "DeploymentSucceeded",
			"version": "1.2003.0.0", "uploaded": "aseh-ssl-gateway-pfx", "expect_upload": "false"},
	}
	if diff := cmp.Diff(want, v); diff != "" {
		t.Errorf("plan (-want +got):\n%s", diff)
	}
}

// recorder collects the progress and handles of an apply, checking that
// the handle is journalled before the operation is first polled.
type recorder struct {
	f        *fixture
	mu       sync.Mutex
	progress []executor.Progress
	handles  []string
	// cancelAt, when set, cancels the apply's ctx once progress reaches it.
	cancelAt float64
	cancel   context.CancelFunc
	// handleErr is what Handle returns.
	handleErr error
}

func (r *recorder) request(name string, planned *executor.PlanResponse) *executor.ApplyRequest {
	req := r.f.applyRequest(NewRotateAction(r.f.conns), name, planned, func(p executor.Progress) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.progress = append(r.progress, p)
		if r.cancel != nil && r.cancelAt > 0 && p.Percent >= r.cancelAt {
			r.cancel()
		}
	})
	req.Handle = func(h string) error {
		if polls := r.f.calls("/operationresults/"); len(polls) > 0 {
			r.f.t.Errorf("handle recorded after %d polls of the operation", len(polls))
		}
		r.mu.Lock()
		r.handles = append(r.handles, h)
		r.mu.Unlock()
		return r.handleErr
	}
	return req
}

// checkProgress checks that progress never goes back and returns the last
// report.
func (r *recorder) checkProgress(t *testing.T) executor.Progress {
	t.Helper()
	if len(r.progress) < 3 {
		t.Fatalf("only %d progress reports", len(r.progress))
	}
	for i := 1; i < len(r.progress); i++ {
		if r.progress[i].Percent < r.progress[i-1].Percent {
			t.Errorf("progress went back: %v then %v", r.progress[i-1], r.progress[i])
		}
	}
	return r.progress[len(r.progress)-1]
}

func TestRotateActionApply(t *testing.T) {
	f := rotateFixture(t, nil)
	result := f.upload()
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
	if len(rec.handles) != 1 {
		t.Fatalf("handles = %q, want one", rec.handles)
	}
	wantResult := map[string]string{"operation": rec.handles[0], "status": "Succeeded", "product_id": "microsoft.eventhub"}
	if diff := cmp.Diff(wantResult, ar.Result); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
	wantOut := map[string]any{"product_id": "microsoft.eventhub", "package_id": "microsoft.eventhub.1.2003.0.0",
		"status": "SecretRotationSucceeded", "operation": rec.handles[0]}
	if diff := cmp.Diff(wantOut, plainValue(ar.Outputs)); diff != "" {
		t.Errorf("outputs (-want +got):\n%s", diff)
	}
	if last := rec.checkProgress(t); last.Percent != 100 || last.Message != "Succeeded" {
		t.Errorf("last progress = %+v, want 100%% Succeeded", last)
	}
	if took := f.clk.Since(start); took < 4*time.Hour || took > 4*time.Hour+2*time.Minute {
		t.Errorf("the rotation took %s of stamp time, want about 4h", took)
	}
	p := f.eventhub()
	if p.Status != "SecretRotationSucceeded" || p.RotateSecretsCalls != 1 {
		t.Errorf("stamp: status %s after %d rotateSecrets, want SecretRotationSucceeded after 1", p.Status, p.RotateSecretsCalls)
	}
	if s := p.Secrets[0]; s.Status != "Deployed" || s.ExpirationDate.Format(time.RFC3339) != result[ResultNotAfter] {
		t.Errorf("secret %s expiring %s, want Deployed expiring %s", s.Status, s.ExpirationDate, result[ResultNotAfter])
	}

	// Declarative: the next plan changes nothing.
	ps := f.view(f.planPS("cert", &state.History{LastSuccess: result}))
	if ps.Action != "no-op" || ps.Reason != "the stamp already uses this certificate" {
		t.Errorf("product_secret plan after rotation = %s (%s), want no-op", ps.Action, ps.Reason)
	}
	if ra := f.view(f.planRA("rotate", false)); ra.Action != "no-op" {
		t.Errorf("rotate_action plan after rotation = %s (%s), want no-op", ra.Action, ra.Reason)
	}
}

func TestRotateActionFails(t *testing.T) {
	sc, err := simhub.ScenarioByName("rotation-fails")
	if err != nil {
		t.Fatal(err)
	}
	f := rotateFixture(t, &sc)
	f.upload()
	rec := &recorder{f: f}
	req := rec.request("rotate", f.planRA("rotate", false))
	var ar *executor.ApplyResponse
	f.run(func() { ar = NewRotateAction(f.conns).Apply(context.Background(), req) })
	f.checkApply(ar)
	if ar.Err == nil {
		t.Fatal("apply of a failing rotation succeeded")
	}
	for _, want := range []string{"operation failed", "SecretRotationFailed", "failed at 60%"} {
		if !strings.Contains(ar.Err.Error(), want) {
			t.Errorf("error %q does not say %q", ar.Err, want)
		}
	}
	if !errors.Is(ar.Err, hub.ErrOperationFailed) || ar.Retryable {
		t.Errorf("error is ErrOperationFailed: %v, retryable: %v; want true, false", errors.Is(ar.Err, hub.ErrOperationFailed), ar.Retryable)
	}
	if last := rec.checkProgress(t); last.Percent != 60 || last.Message != "Failed" {
		t.Errorf("last progress = %+v, want 60%% Failed", last)
	}

	failedPlan := f.planRA("rotate", false)
	v := f.view(failedPlan)
	if diff := cmp.Diff([]string{`error: Last secret rotation failed @ "microsoft.eventhub"`}, v.Diags); diff != "" {
		t.Errorf("plan after a failure (-want +got):\n%s", diff)
	}
	for _, d := range failedPlan.Diagnostics {
		if !strings.Contains(d.Detail, "(simulated failure). Find out why") {
			t.Errorf("plan diagnostic does not quote the stamp's reason as one sentence: %s", d.Detail)
		}
	}
	if ack := f.view(f.planRA("ack", false)); ack.Action != "run" || len(ack.Diags) != 0 {
		t.Errorf("plan with acknowledge_failure = %s %q, want run", ack.Action, ack.Diags)
	}
}

// TestRotateActionResume interrupts an apply mid-rotation and resumes from
// the journalled handle: the rotation is watched to its end, never
// started twice.
func TestRotateActionResume(t *testing.T) {
	f := rotateFixture(t, nil)
	f.upload()
	planned := f.planRA("rotate", false)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rec := &recorder{f: f, cancelAt: 25, cancel: cancel}
	req := rec.request("rotate", planned)
	var ar *executor.ApplyResponse
	f.run(func() { ar = NewRotateAction(f.conns).Apply(ctx, req) })
	f.checkApply(ar)
	if ar.Err == nil || ar.Retryable || !strings.Contains(ar.Err.Error(), "apply again to re-attach") {
		t.Fatalf("interrupted apply: err %v, retryable %v; want a non-retryable re-attach hint", ar.Err, ar.Retryable)
	}
	if len(rec.handles) != 1 {
		t.Fatalf("handles = %q, want one", rec.handles)
	}

	if v := f.view(f.planRA("rotate", false)); len(v.Diags) != 1 || !strings.Contains(v.Diags[0], "Secret rotation already running") {
		t.Errorf("plan during the rotation: %q, want the already-running error", v.Diags)
	}

	rec2 := &recorder{f: f}
	rreq := &executor.ResumeRequest{ApplyRequest: *rec2.request("rotate", planned), Handle: rec.handles[0]}
	var rr *executor.ApplyResponse
	f.run(func() { rr = NewRotateAction(f.conns).Resume(context.Background(), rreq) })
	f.checkApply(rr)
	if rr.Err != nil {
		t.Fatalf("resume: %v", rr.Err)
	}
	if rr.Result[ResultOperation] != rec.handles[0] || rr.Result[ResultStatus] != "Succeeded" {
		t.Errorf("resume result = %v, want the journalled operation, Succeeded", rr.Result)
	}
	if first := rec2.progress[0].Percent; first < 25 {
		t.Errorf("resume's first progress is %v%%, want where the interrupted run left off (≥ 25%%)", first)
	}
	if len(rec2.handles) != 0 {
		t.Errorf("resume recorded handles %q, want none", rec2.handles)
	}
	p := f.eventhub()
	if diff := cmp.Diff([]string{"POST rotateSecrets"}, f.calls("/rotateSecrets")); diff != "" || p.Rotations != 1 {
		t.Errorf("rotations = %d, rotateSecrets calls (-want +got):\n%s", p.Rotations, diff)
	}
	if p.Status != "SecretRotationSucceeded" {
		t.Errorf("stamp status = %s, want SecretRotationSucceeded", p.Status)
	}
}

func TestRotateActionResumeWithoutHandle(t *testing.T) {
	tests := map[string]struct {
		prepare   func(f *fixture)
		wantErr   string
		wantCalls int // rotateSecrets requests in all
	}{
		"nothing was sent": {
			prepare:   func(*fixture) {},
			wantCalls: 1,
		},
		"rotation running": {
			prepare: func(f *fixture) {
				if _, err := f.client().RotateSecrets(context.Background(), "microsoft.eventhub"); err != nil {
					f.t.Fatal(err)
				}
			},
			wantErr:   "this run journalled no operation for it, so it cannot re-attach",
			wantCalls: 1,
		},
		"rotation ended": {
			prepare: func(f *fixture) {
				if _, err := f.client().RotateSecrets(context.Background(), "microsoft.eventhub"); err != nil {
					f.t.Fatal(err)
				}
				f.clk.Advance(5 * time.Hour)
			},
			wantCalls: 1,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := rotateFixture(t, nil)
			f.upload()
			planned := f.planRA("rotate", false)
			tc.prepare(f)
			rec := &recorder{f: f}
			rreq := &executor.ResumeRequest{ApplyRequest: *rec.request("rotate", planned)}
			var rr *executor.ApplyResponse
			f.run(func() { rr = NewRotateAction(f.conns).Resume(context.Background(), rreq) })
			f.checkApply(rr)
			switch {
			case tc.wantErr == "" && rr.Err != nil:
				t.Errorf("resume: %v", rr.Err)
			case tc.wantErr != "" && (rr.Err == nil || !strings.Contains(rr.Err.Error(), tc.wantErr)):
				t.Errorf("resume error = %v, want %q", rr.Err, tc.wantErr)
			}
			if n := len(f.calls("/rotateSecrets")); n != tc.wantCalls {
				t.Errorf("%d rotateSecrets requests, want %d", n, tc.wantCalls)
			}
		})
	}
}

func TestRotateActionApplyRefuses(t *testing.T) {
	tests := map[string]struct {
		prepare   func(f *fixture)
		attempt   int
		handleErr error
		wantErr   string
		wantCalls int
	}{
		"rotation started by someone else": {
			prepare: func(f *fixture) {
				if _, err := f.client().RotateSecrets(context.Background(), "microsoft.eventhub"); err != nil {
					f.t.Fatal(err)
				}
			},
			wantErr:   "already running on the stamp, not started by this run",
			wantCalls: 1,
		},
		"retried attempt": {
			prepare: func(f *fixture) {
				if _, err := f.client().RotateSecrets(context.Background(), "microsoft.eventhub"); err != nil {
					f.t.Fatal(err)
				}
			},
			attempt:   2,
			wantErr:   "perhaps started by an earlier attempt of this step; it is not started again",
			wantCalls: 1,
		},
		"handle not journalled": {
			prepare:   func(*fixture) {},
			handleErr: errors.New("disk full"),
			wantErr:   "could not be journalled: disk full; do not start another",
			wantCalls: 1,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := rotateFixture(t, nil)
			f.upload()
			planned := f.planRA("rotate", false)
			tc.prepare(f)
			rec := &recorder{f: f, handleErr: tc.handleErr}
			req := rec.request("rotate", planned)
			req.Attempt = max(tc.attempt, 1)
			var ar *executor.ApplyResponse
			f.run(func() { ar = NewRotateAction(f.conns).Apply(context.Background(), req) })
			f.checkApply(ar)
			if ar.Err == nil || !strings.Contains(ar.Err.Error(), tc.wantErr) || ar.Retryable {
				t.Errorf("apply: err %v, retryable %v; want %q, not retryable", ar.Err, ar.Retryable, tc.wantErr)
			}
			if tc.handleErr != nil && !errors.Is(ar.Err, tc.handleErr) {
				t.Errorf("error %v does not wrap the journal's error", ar.Err)
			}
			if n := len(f.calls("/rotateSecrets")); n != tc.wantCalls {
				t.Errorf("%d rotateSecrets requests, want %d", n, tc.wantCalls)
			}
			if polls := f.calls("/operationresults/"); len(polls) > 0 {
				t.Errorf("the operation was polled %d times, want none", len(polls))
			}
		})
	}
}

func TestRotateActionInfo(t *testing.T) {
	f := rotateFixture(t, nil)
	tests := map[string]executor.Info{
		"rotate":  {ExpectedDuration: 4 * time.Hour, Timeout: 8 * time.Hour, Targets: []string{"hub.east"}},
		"sql":     {ExpectedDuration: 15 * time.Minute, Timeout: time.Hour, Targets: []string{"hub.east"}},
		"missing": {ExpectedDuration: time.Hour, Timeout: 2 * time.Hour, Targets: []string{"hub.east"}},
	}
	for name, want := range tests {
		t.Run(name, func(t *testing.T) {
			cfg, _ := f.config(NewRotateAction(f.conns), name)
			if diff := cmp.Diff(want, NewRotateAction(f.conns).Info(cfg)); diff != "" {
				t.Errorf("info (-want +got):\n%s", diff)
			}
		})
	}
	cfg, _ := f.config(NewProductSecret(f.conns), "cert")
	want := executor.Info{ExpectedDuration: time.Minute, Timeout: 10 * time.Minute, RepeatSafe: true, Targets: []string{"hub.east"}}
	if diff := cmp.Diff(want, NewProductSecret(f.conns).Info(cfg)); diff != "" {
		t.Errorf("product_secret info (-want +got):\n%s", diff)
	}
}
