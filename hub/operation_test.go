package hub

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestRotationFourHours drives a four-hour rotation on the fake clock: the
// poll honours Retry-After, reports rising progress, and rides out the
// access token expiring (hourly, on the stamp's clock) mid-rotation.
func TestRotationFourHours(t *testing.T) {
	st, c, log := newFixture(t, true)
	ctx := context.Background()
	start := time.Now()
	var (
		op       Operation
		final    *OperationStatus
		progress []Progress
		err      error
	)
	waits := onFakeClock(t, st.clock, func() {
		if op, err = c.RotateSecrets(ctx, "microsoft.eventhub"); err != nil {
			return
		}
		final, err = c.PollOperation(ctx, op, func(p Progress) { progress = append(progress, p) })
	})
	elapsed := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if op.Header != "Azure-AsyncOperation" || op.RetryAfter != time.Minute {
		t.Errorf("operation = %+v, want an Azure-AsyncOperation URL and Retry-After 1m", op)
	}
	if final.Status != "Succeeded" || final.PercentComplete != 100 {
		t.Errorf("final status = %+v", final)
	}
	// 240 waits of one minute each: the first from rotateSecrets'
	// Retry-After, the others from the status responses'.
	if len(waits) != 240 {
		t.Errorf("%d waits, want 240", len(waits))
	}
	for i, w := range waits {
		if w != time.Minute {
			t.Fatalf("wait %d = %s, want 1m (Retry-After)", i, w)
		}
	}
	if got := st.clock.Since(epoch); got != 4*time.Hour {
		t.Errorf("virtual time passed = %s, want 4h", got)
	}
	last := 0.0
	for _, p := range progress {
		if p.PercentComplete < last || p.Err != nil {
			t.Fatalf("progress went from %v to %+v", last, p)
		}
		last = p.PercentComplete
	}
	if p := progress[len(progress)-1]; p.Status != "Succeeded" || p.Next != 0 || p.Polls != 240 {
		t.Errorf("last progress = %+v", p)
	}
	// The token lives an hour on the stamp's clock: three renewals at
	// least, each answered after one 401.
	if n := st.tokenCount(); n < 4 {
		t.Errorf("%d tokens issued over 4h, want at least 4", n)
	}
	if !strings.Contains(log.String(), ": 401 (") {
		t.Errorf("log shows no rejected token:\n%s", log)
	}
	d, err := c.GetProductDeployment(ctx, "Microsoft.EventHub")
	if err != nil {
		t.Fatal(err)
	}
	if d.Properties.Status != "SecretRotationSucceeded" {
		t.Errorf("deployment status = %q", d.Properties.Status)
	}
	t.Logf("4h rotation: %d polls, %d tokens, %s of real time", len(progress), st.tokenCount(), elapsed)
}

// TestRotationFailsAt60 turns a rotation that fails at 60% into an error
// carrying the operation's code and message.
func TestRotationFailsAt60(t *testing.T) {
	st, c, _ := newFixture(t, false)
	st.failAt = 60
	ctx := context.Background()
	var (
		last Progress
		err  error
	)
	onFakeClock(t, st.clock, func() {
		var op Operation
		if op, err = c.RotateSecrets(ctx, "microsoft.eventhub"); err == nil {
			_, err = c.PollOperation(ctx, op, func(p Progress) { last = p })
		}
	})
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, ErrOperationFailed) {
		t.Fatalf("err = %v, want an *Error wrapping ErrOperationFailed", err)
	}
	got := Error{Stamp: e.Stamp, Op: e.Op, StatusCode: e.StatusCode, Code: e.Code, Message: e.Message}
	want := Error{Stamp: "east", Op: "rotate secrets of microsoft.eventhub", Code: "SecretRotationFailed",
		Message: "Step 'RestartGateway' failed: the gateway VM did not come back within 30 minutes."}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
	if want := "hub east: rotate secrets of microsoft.eventhub: operation failed: SecretRotationFailed: Step"; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error = %q, want prefix %q", err, want)
	}
	if last.Status != "Failed" || last.PercentComplete != 60 {
		t.Errorf("last progress = %+v, want Failed at 60%%", last)
	}
}

// TestOperationVanishes: the status URL starts answering 404 mid-rotation.
func TestOperationVanishes(t *testing.T) {
	st, c, _ := newFixture(t, true)
	ctx := context.Background()
	var err error
	onFakeClock(t, st.clock, func() {
		var op Operation
		if op, err = c.RotateSecrets(ctx, "microsoft.eventhub"); err == nil {
			_, err = c.PollOperation(ctx, op, func(p Progress) {
				if p.PercentComplete >= 25 {
					st.vanish()
				}
			})
		}
	})
	if !IsNotFound(err) || !errors.Is(err, ErrOutcomeUnknown) {
		t.Fatalf("err = %v, want not found and outcome unknown", err)
	}
	for _, want := range []string{"hub east", "poll rotate secrets of microsoft.eventhub", "no longer exists", "OperationNotFound", "HTTP 404"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

// TestResumeOnFreshClient journals the handle, drops the client, and
// finishes the poll with a new client, as the executor does after a crash.
func TestResumeOnFreshClient(t *testing.T) {
	st, first, _ := newFixture(t, true)
	ctx := context.Background()
	op, err := first.RotateSecrets(ctx, "microsoft.eventhub")
	if err != nil {
		t.Fatal(err)
	}
	journal, err := json.Marshal(op)
	if err != nil {
		t.Fatal(err)
	}
	st.clock.Advance(90 * time.Minute) // the crash; the first token has expired meanwhile
	var resumed Operation
	if err := json.Unmarshal(journal, &resumed); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Operation{Op: op.Op, URL: op.URL, Header: op.Header, Product: "microsoft.eventhub"}, resumed); diff != "" {
		t.Errorf("journalled operation (-want +got)\n%s", diff)
	}
	second, _ := newClient(t, st)
	var (
		progress []Progress
		final    *OperationStatus
	)
	waits := onFakeClock(t, st.clock, func() {
		final, err = second.PollOperation(ctx, resumed, func(p Progress) { progress = append(progress, p) })
	})
	if err != nil {
		t.Fatal(err)
	}
	if final.Status != "Succeeded" {
		t.Errorf("final = %+v", final)
	}
	if progress[0].PercentComplete != 37.5 {
		t.Errorf("first poll after resume saw %v%%, want 37.5 (polled at once)", progress[0].PercentComplete)
	}
	if len(waits) != 150 {
		t.Errorf("%d waits after resume, want 150", len(waits))
	}
}

// TestRotateVariants covers the answers the specification allows.
func TestRotateVariants(t *testing.T) {
	tests := map[string]struct {
		setup      func(*stamp)
		wantHeader string
		wantDone   bool
		wantPolls  int
	}{
		"202 with Azure-AsyncOperation": {setup: func(*stamp) {}, wantHeader: "Azure-AsyncOperation", wantPolls: 240},
		"202 with Location only":        {setup: func(s *stamp) { s.locationOnly = true }, wantHeader: "Location", wantPolls: 240},
		// A 200 without headers is followed through the deployment, whose
		// status counts from the first read.
		"200 followed through the deployment": {setup: func(s *stamp) { s.syncRotate = true }, wantPolls: 1},
		"Retry-After 0 is clamped to 1s": {setup: func(s *stamp) { s.pollAfter, s.rotation = 0, 10*time.Minute },
			wantHeader: "Azure-AsyncOperation", wantPolls: 601}, // at 0s, then every second
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			st, c, _ := newFixture(t, true)
			tc.setup(st)
			ctx := context.Background()
			var (
				op    Operation
				final *OperationStatus
				last  Progress
				err   error
			)
			onFakeClock(t, st.clock, func() {
				if op, err = c.RotateSecrets(ctx, "microsoft.eventhub"); err == nil {
					final, err = c.PollOperation(ctx, op, func(p Progress) { last = p })
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			type summary struct {
				Header string
				Done   bool
				Status string
				Polls  int
			}
			got := summary{op.Header, op.Done(), final.Status, last.Polls}
			want := summary{tc.wantHeader, tc.wantDone, "Succeeded", tc.wantPolls}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

// TestConflictAndNotFound checks the classification and wording of errors.
func TestConflictAndNotFound(t *testing.T) {
	_, c, _ := newFixture(t, true)
	ctx := context.Background()
	if _, err := c.RotateSecrets(ctx, "microsoft.eventhub"); err != nil {
		t.Fatal(err)
	}
	_, conflict := c.RotateSecrets(ctx, "microsoft.eventhub")
	_, missing := c.GetProductDeployment(ctx, "microsoft.nothing")
	_, noSecret := c.GetProductSecret(ctx, "microsoft.eventhub.1.2003.0.0", "nope")
	type class struct{ NotFound, Conflict bool }
	tests := map[string]struct {
		err       error
		want      class
		wantError string
	}{
		"rotation in progress": {conflict, class{Conflict: true},
			"hub east: rotate secrets of microsoft.eventhub: Conflict: A secret rotation of microsoft.eventhub is already in progress. (HTTP 409)"},
		"unknown product": {missing, class{NotFound: true},
			"hub east: get product deployment microsoft.nothing: ProductDeploymentNotFound: Product deployment 'microsoft.nothing' was not found. (HTTP 404)"},
		"unknown secret": {noSecret, class{NotFound: true},
			"hub east: get secret microsoft.eventhub.1.2003.0.0/nope: SecretNotFound: Secret 'nope' was not found. (HTTP 404)"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if tc.err == nil {
				t.Fatal("no error")
			}
			if diff := cmp.Diff(tc.want, class{IsNotFound(tc.err), IsConflict(tc.err)}); diff != "" {
				t.Errorf("class (-want +got)\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantError, tc.err.Error()); diff != "" {
				t.Errorf("message (-want +got)\n%s", diff)
			}
		})
	}
}

// TestPollRefusesForeignHost: a tampered journal must not send the token
// to another host.
func TestPollRefusesForeignHost(t *testing.T) {
	st, c, _ := newFixture(t, true)
	before := st.tokenCount()
	_, err := c.PollOperation(context.Background(), Operation{Op: "rotate secrets of x", URL: "https://evil.example/operationResults/1"}, nil)
	if err == nil || !strings.Contains(err.Error(), "refusing to send credentials") {
		t.Fatalf("err = %v", err)
	}
	if st.tokenCount() != before {
		t.Error("a token was fetched for a foreign host")
	}
}
