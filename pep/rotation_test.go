package pep

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/runbook-dev/runbook/clock"
	simpep "github.com/runbook-dev/runbook/sim/pep"
)

// rotationEnv is a PEP whose rotations take an hour of fake time, with a
// session and a goroutine driving the clock while a command sleeps.
func rotationEnv(t *testing.T) (*env, Session, *clock.Fake) {
	f := clock.NewFake(epoch)
	e := newEnv(t, modes["sealed ntlm over http"], simpep.Config{Clock: f, RotationTime: time.Hour})
	e.cfg.ReceiveTimeout = -1
	// Poll once a virtual minute (the server's cap): sixty polls an hour.
	e.cfg.OperationTimeout = time.Minute
	s := e.dial(t)
	stop := make(chan struct{})
	go driveFakeClock(f, 2, stop)
	t.Cleanup(func() { close(stop) })
	return e, s, f
}

func external() []Param {
	return []Param{
		{Name: "PfxFilesPath", Value: `\\10.0.0.5\Certificates`},
		{Name: "PathAccessCredential", Value: Credential{Username: `CONTOSO\certshare`, Password: "Share-" + canary}, Secret: true},
		{Name: "CertificatePassword", Value: canary, Secret: true},
	}
}

func TestStartSecretRotation(t *testing.T) {
	tests := map[string]struct {
		setup    func(ep *simpep.Endpoint)
		params   []Param
		wantFQID string
		wantLast string
	}{
		"external": {params: external(), wantLast: "Action plan finished with status: 'Completed'"},
		"internal": {params: []Param{{Name: "Internal", Value: true}}, wantLast: "Action plan finished with status: 'Completed'"},
		"internal with external parameters": {
			params:   append(external(), Param{Name: "Internal", Value: true}),
			wantFQID: "AmbiguousParameterSet,Start-SecretRotation",
		},
		"external without the certificate password": {
			params:   external()[:2],
			wantFQID: "MissingMandatoryParameter,Start-SecretRotation",
		},
		"external from a local path": {
			params:   append([]Param{{Name: "PfxFilesPath", Value: `C:\Certificates`}}, external()[1:]...),
			wantFQID: "ParameterArgumentValidationErrorNullNotAllowed,Test-Certificate",
		},
		"rerun with nothing failed": {
			params:   []Param{{Name: "Internal", Value: true}, {Name: "ReRun", Value: true}},
			wantFQID: "NoFailedRotationToRerun,Start-SecretRotation",
		},
		"failing action plan": {
			setup:    func(ep *simpep.Endpoint) { ep.FailNextRotations(1) },
			params:   []Param{{Name: "Internal", Value: true}},
			wantFQID: "ActionPlanFailed,Start-SecretRotation",
			wantLast: "Action plan finished with status: 'Failed'",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e, s, f := rotationEnv(t)
			if tc.setup != nil {
				tc.setup(e.ep)
			}
			res, err := s.Invoke(context.Background(), Call{Cmdlet: "Start-SecretRotation", Params: tc.params})
			var ce *CommandError
			switch {
			case tc.wantFQID == "" && err != nil:
				t.Fatal(err)
			case tc.wantFQID != "" && (!errors.As(err, &ce) || ce.Record.FullyQualifiedErrorId != tc.wantFQID):
				t.Fatalf("Invoke = %v, want a CommandError %s", err, tc.wantFQID)
			}
			if tc.wantLast != "" {
				if n := len(res.Information); n == 0 || res.Information[n-1] != tc.wantLast {
					t.Errorf("information %q, want it to end with %q", res.Information, tc.wantLast)
				}
				if took := f.Since(epoch); took < time.Hour {
					t.Errorf("the rotation took %v of virtual time, want an hour", took)
				}
			}
			var texts []string
			for _, te := range e.ep.Transcript() {
				texts = append(texts, te.Text())
			}
			assertNoSecret(t, canary, "the transcript", texts...)
			assertNoSecret(t, canary, "the request log", decodedTraffic(t, e.ep.WSMan.Requests())...)
			if err != nil {
				assertNoSecret(t, canary, "the error", err.Error())
			}
		})
	}
}

func TestRerunAfterFailureAndActionStatus(t *testing.T) {
	e, s, _ := rotationEnv(t)
	ctx := context.Background()
	e.ep.FailNextRotations(1)
	internal := Param{Name: "Internal", Value: true}
	var ce *CommandError
	if _, err := s.Invoke(ctx, Call{Cmdlet: "Start-SecretRotation", Params: []Param{internal}}); !errors.As(err, &ce) {
		t.Fatalf("first run = %v, want it to fail", err)
	}
	status := func() map[string]any {
		t.Helper()
		res, err := s.Invoke(ctx, Call{Cmdlet: "Get-ActionStatus", Params: []Param{{Name: "FunctionName", Value: "Start-SecretRotation"}}})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Output) != 1 {
			t.Fatalf("Get-ActionStatus returned %d objects", len(res.Output))
		}
		return res.Objects()[0].(map[string]any)
	}
	if got := status()["Status"]; got != "Failed" {
		t.Errorf("status after the failure %v, want Failed", got)
	}
	if _, err := s.Invoke(ctx, Call{Cmdlet: "Start-SecretRotation", Params: []Param{internal, {Name: "ReRun", Value: true}}}); err != nil {
		t.Fatalf("rerun: %v", err)
	}
	got := status()
	want := map[string]any{"Status": "Completed", "ActionType": "Internal", "FunctionName": "Start-SecretRotation"}
	for k, v := range want {
		if diff := cmp.Diff(v, got[k]); diff != "" {
			t.Errorf("%s (-want +got):\n%s", k, diff)
		}
	}
	if !strings.HasPrefix(e.ep.Transcript()[2].Command, "Start-SecretRotation") {
		t.Errorf("transcript %+v", e.ep.Transcript())
	}
}
