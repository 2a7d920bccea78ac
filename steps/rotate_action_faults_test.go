package steps

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/runbook-dev/runbook/executor"
	"github.com/runbook-dev/runbook/hub"
	simhub "github.com/runbook-dev/runbook/sim/hub"
)

// TestRotateActionReplyLost has the stamp start the rotation and lose its
// reply to rotateSecrets. Apply reports that the outcome is unknown,
// without sending rotateSecrets again; a second attempt and a resume both
// find the rotation running and refuse to start another.
func TestRotateActionReplyLost(t *testing.T) {
	f := rotateFixture(t, nil)
	f.upload()
	planned := f.planRA("rotate", false)
	f.srv.Inject(simhub.Fault{Kind: simhub.FaultDropReply, Method: "POST", Path: "/rotateSecrets"})
	rec := &recorder{f: f}
	var ar *executor.ApplyResponse
	f.run(func() { ar = NewRotateAction(f.conns).Apply(context.Background(), rec.request("rotate", planned)) })
	f.checkApply(ar)
	if ar.Err == nil || !errors.Is(ar.Err, hub.ErrOutcomeUnknown) {
		t.Fatalf("apply error = %v, want an unknown outcome", ar.Err)
	}
	if ar.Retryable || len(rec.handles) != 0 {
		t.Errorf("retryable %v, handles %q; want false, none", ar.Retryable, rec.handles)
	}

	again := rec.request("rotate", planned)
	again.Attempt = 2
	tests := map[string]struct {
		run  func() *executor.ApplyResponse
		want string
	}{
		"second attempt": {
			run:  func() *executor.ApplyResponse { return NewRotateAction(f.conns).Apply(context.Background(), again) },
			want: "perhaps started by an earlier attempt of this step; it is not started again",
		},
		"resume": {
			run: func() *executor.ApplyResponse {
				return NewRotateAction(f.conns).Resume(context.Background(), &executor.ResumeRequest{ApplyRequest: *rec.request("rotate", planned)})
			},
			want: "this run journalled no operation for it, so it cannot re-attach",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var resp *executor.ApplyResponse
			f.run(func() { resp = tc.run() })
			if resp.Err == nil || !strings.Contains(resp.Err.Error(), tc.want) {
				t.Errorf("error = %v, want %q", resp.Err, tc.want)
			}
		})
	}
	if diff := cmp.Diff([]string{"POST rotateSecrets"}, f.calls("/rotateSecrets")); diff != "" {
		t.Errorf("rotateSecrets requests (-want +got):\n%s", diff)
	}
	if p := f.eventhub(); p.RotateSecretsCalls != 1 || p.Status != simhub.StatusSecretRotationRunning {
		t.Errorf("stamp: %d rotateSecrets served, status %s; want 1, %s", p.RotateSecretsCalls, p.Status, simhub.StatusSecretRotationRunning)
	}
}
