package pep

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/runbook-dev/runbook/clock"
	simpep "github.com/runbook-dev/runbook/sim/pep"
)

// TestSecretRotationHook: the simulated PEP tells its OnSecretRotation of
// each completed Start-SecretRotation (how -simulate renews the simulated
// Hub's secrets and closes their alerts), and of no failed one.
func TestSecretRotationHook(t *testing.T) {
	f := clock.NewFake(epoch)
	var mu sync.Mutex
	var got []bool
	e := newEnv(t, modes["sealed ntlm over http"], simpep.Config{Clock: f, RotationTime: time.Hour,
		OnSecretRotation: func(internal bool) { mu.Lock(); got = append(got, internal); mu.Unlock() }})
	e.cfg.ReceiveTimeout = -1
	e.cfg.OperationTimeout = time.Minute
	s := e.dial(t)
	stop := make(chan struct{})
	go driveFakeClock(f, 2, stop)
	t.Cleanup(func() { close(stop) })
	ctx := context.Background()
	e.ep.FailNextRotations(1)
	internal := Param{Name: "Internal", Value: true}
	var ce *CommandError
	if _, err := s.Invoke(ctx, Call{Cmdlet: "Start-SecretRotation", Params: []Param{internal}}); !errors.As(err, &ce) {
		t.Fatalf("first run = %v, want it to fail", err)
	}
	if _, err := s.Invoke(ctx, Call{Cmdlet: "Start-SecretRotation", Params: external()}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Invoke(ctx, Call{Cmdlet: "Start-SecretRotation", Params: []Param{internal}}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff([]bool{false, true}, got); diff != "" {
		t.Errorf("rotations reported (-want +got):\n%s", diff)
	}
}
