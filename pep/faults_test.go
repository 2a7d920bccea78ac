package pep

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/runbook-dev/runbook/clock"
	simpep "github.com/runbook-dev/runbook/sim/pep"
	simwsman "github.com/runbook-dev/runbook/sim/wsman"
	"github.com/runbook-dev/runbook/wsman"
)

var epoch = time.Date(2026, 11, 28, 22, 0, 0, 0, time.UTC)

// router dials ERCS addresses to loopback ports; an address mapped to 0
// refuses the connection. It counts dials per address.
type router struct {
	mu    sync.Mutex
	ports map[string]int
	dials map[string]int
}

func newRouter(ports map[string]int) *router {
	return &router{ports: ports, dials: map[string]int{}}
}

func (r *router) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	host, _, _ := net.SplitHostPort(addr)
	r.mu.Lock()
	r.dials[host]++
	port := r.ports[host]
	r.mu.Unlock()
	if port == 0 {
		return nil, &net.OpError{Op: "dial", Net: network, Err: syscall.ECONNREFUSED}
	}
	var d net.Dialer
	return d.DialContext(ctx, network, net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
}

func (r *router) count(host string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.dials[host]
}

// closedPort returns a loopback port nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}

func TestFailoverToSecondAddress(t *testing.T) {
	sealed := modes["sealed ntlm over http"]
	tests := map[string]func(t *testing.T) int{
		"refused by the kernel": closedPort,
		"refused by the dialer": func(*testing.T) int { return 0 },
	}
	for name, firstPort := range tests {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, sealed, simpep.Config{})
			r := newRouter(map[string]int{"10.0.0.224": firstPort(t), "10.0.0.225": e.ep.WSMan.Port()})
			cfg := e.cfg
			cfg.Addresses = []string{"10.0.0.224", "10.0.0.225"}
			cfg.Dial = r.dial
			s, err := Dial(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close(context.Background())
			if _, err := s.Invoke(context.Background(), Call{Cmdlet: "Set-BmcCredential", Params: []Param{{Name: "BmcPassword", Value: canary, Secret: true}}}); err != nil {
				t.Fatal(err)
			}
			if !e.ep.BMCPasswordMatches("AzS-Node03", canary) {
				t.Error("the command did not run on the second ERCS VM")
			}
			if r.count("10.0.0.224") != 1 {
				t.Errorf("first address dialled %d times, want 1", r.count("10.0.0.224"))
			}
			if !strings.Contains(e.logs.String(), "trying the next") {
				t.Errorf("failover not logged:\n%s", e.logs.String())
			}
		})
	}
}

func TestNoFailoverOnWrongCredentials(t *testing.T) {
	for name, m := range modes {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, m, simpep.Config{})
			cfg := e.cfg
			cfg.Password = "Wrong-" + canary
			if m.auth == wsman.AuthNTLM && !m.https {
				r := newRouter(map[string]int{"10.0.0.224": e.ep.WSMan.Port(), "10.0.0.225": e.ep.WSMan.Port()})
				cfg.Addresses, cfg.Dial = []string{"10.0.0.224", "10.0.0.225"}, r.dial
				defer func() {
					if n := r.count("10.0.0.225"); n != 0 {
						t.Errorf("dialled the second address %d times after an authentication failure", n)
					}
				}()
			}
			_, err := Dial(context.Background(), cfg)
			if !errors.Is(err, wsman.ErrUnauthorized) {
				t.Fatalf("Dial = %v, want wsman.ErrUnauthorized", err)
			}
			assertNoSecret(t, canary, "the error", err.Error())
			assertNoSecret(t, canary, "the client log", e.logs.String())
			if n := e.ep.State().Sessions; n != 0 {
				t.Errorf("%d sessions opened with wrong credentials", n)
			}
		})
	}
}

func TestSessionLimit(t *testing.T) {
	full := newEnv(t, modes["sealed ntlm over http"], simpep.Config{MaxSessions: 1})
	spare := newEnv(t, modes["sealed ntlm over http"], simpep.Config{MaxSessions: 1})
	first := full.dial(t)
	_ = first

	// One address: the limit is the answer.
	_, err := Dial(context.Background(), full.cfg)
	var f *wsman.FaultError
	if !errors.As(err, &f) || !strings.HasSuffix(f.Subcode, "QuotaLimit") {
		t.Fatalf("Dial to a full PEP = %v, want a w:QuotaLimit fault", err)
	}

	// Two addresses: the second ERCS VM takes the session.
	r := newRouter(map[string]int{"10.0.0.224": full.ep.WSMan.Port(), "10.0.0.225": spare.ep.WSMan.Port()})
	cfg := full.cfg
	cfg.Addresses, cfg.Dial = []string{"10.0.0.224", "10.0.0.225"}, r.dial
	s, err := Dial(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	if n := spare.ep.State().Sessions; n != 1 {
		t.Errorf("second ERCS VM has %d sessions, want 1", n)
	}
}

func TestConnectionDroppedMidCommand(t *testing.T) {
	for _, name := range []string{"basic over http", "sealed ntlm over http"} {
		t.Run(name, func(t *testing.T) { testConnectionDropped(t, modes[name]) })
	}
}

func testConnectionDropped(t *testing.T, m mode) {
	e := newEnv(t, m, simpep.Config{})
	s := e.dial(t)
	ctx := context.Background()
	call := Call{Cmdlet: "Set-BmcCredential", Params: []Param{{Name: "BmcPassword", Value: canary, Secret: true}}}
	if _, err := s.Invoke(ctx, call); err != nil {
		t.Fatal(err)
	}
	// The next Receive (the pipeline's) is served, but the reply is lost.
	e.ep.WSMan.Inject(simwsman.Injection{Action: "Receive", Kind: simwsman.InjectDropReply})
	_, err := s.Invoke(ctx, call)
	var ce *CommandError
	if err == nil || errors.As(err, &ce) {
		t.Fatalf("Invoke = %v, want a transport error", err)
	}
	assertNoSecret(t, canary, "the error", err.Error())
	if _, err := s.Invoke(ctx, Call{Cmdlet: "Get-ActionStatus"}); err == nil || !strings.Contains(err.Error(), "unusable") {
		t.Fatalf("Invoke on a broken session = %v, want it refused", err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatalf("Close of a broken session: %v", err)
	}
	assertNoSecret(t, canary, "the client log", e.logs.String())
}

func TestSlowCommandOnFakeClock(t *testing.T) {
	f := clock.NewFake(epoch)
	e := newEnv(t, modes["sealed ntlm over http"], simpep.Config{Clock: f, BMCUpdateTime: 10 * time.Minute})
	e.cfg.ReceiveTimeout = -1
	s := e.dial(t)
	stop := make(chan struct{})
	go driveFakeClock(f, 2, stop)
	res, err := s.Invoke(context.Background(), Call{Cmdlet: "Set-BmcCredential", Params: []Param{{Name: "BmcPassword", Value: canary, Secret: true}}})
	close(stop)
	if err != nil {
		t.Fatal(err)
	}
	if took := f.Since(epoch); took < 30*time.Minute {
		t.Errorf("three nodes at 10 minutes each took %v of virtual time", took)
	}
	timedOut := 0
	for _, r := range e.ep.WSMan.Requests() {
		if r.Fault == "w:TimedOut" {
			timedOut++
		}
	}
	if timedOut < 30*60/20-5 {
		t.Errorf("%d timed-out polls; a 30-minute command polled every 20s should have about 90", timedOut)
	}
	var status []string
	for _, p := range res.Progress {
		status = append(status, p.Status)
	}
	want := []string{"Updating the BMC credential of AzS-Node01", "Updating the BMC credential of AzS-Node02", "Updating the BMC credential of AzS-Node03", "Completed"}
	if diff := cmp.Diff(want, status); diff != "" {
		t.Errorf("progress (-want +got):\n%s", diff)
	}
}

func TestCancelStopsRemotePipeline(t *testing.T) {
	f := clock.NewFake(epoch)
	e := newEnv(t, modes["basic over http"], simpep.Config{Clock: f, BMCUpdateTime: time.Hour})
	e.cfg.ReceiveTimeout = -1
	s := e.dial(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		_, err := s.Invoke(ctx, Call{Cmdlet: "Set-BmcCredential", Params: []Param{{Name: "BmcPassword", Value: canary, Secret: true}}})
		done <- err
	}()
	// Two timers: the action plan's hour-long sleep and the server's
	// long-poll. Then the caller gives up.
	if err := f.BlockUntil(context.Background(), 2); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Invoke = %v, want context.Canceled", err)
	}
	// Invoke stopped the remote pipeline before returning.
	st := e.ep.State()
	if len(st.Actions) != 1 || st.Actions[0].Status != "Failed" {
		t.Fatalf("actions %+v, want one stopped (Failed) action plan", st.Actions)
	}
	for _, n := range st.Nodes {
		if n.Changes != 0 {
			t.Errorf("node %s changed although the command was stopped", n.Name)
		}
	}
	tr := e.ep.Transcript()
	if got := tr[len(tr)-1].Outcome; got != "Stopped" {
		t.Errorf("transcript outcome %q, want Stopped", got)
	}
	// The session is still usable.
	if _, err := s.Invoke(context.Background(), Call{Cmdlet: "Get-ActionStatus"}); err != nil {
		t.Fatalf("Invoke after a stopped command: %v", err)
	}
}

func TestCloseGivesUpWhileACommandRuns(t *testing.T) {
	f := clock.NewFake(epoch)
	e := newEnv(t, modes["basic over http"], simpep.Config{Clock: f, BMCUpdateTime: time.Hour})
	e.cfg.ReceiveTimeout = -1
	s := e.dial(t)
	invokeCtx, stopInvoke := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		_, err := s.Invoke(invokeCtx, Call{Cmdlet: "Set-BmcCredential", Params: []Param{{Name: "BmcPassword", Value: canary, Secret: true}}})
		done <- err
	}()
	if err := f.BlockUntil(context.Background(), 2); err != nil {
		t.Fatal(err)
	}
	closeCtx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Close(closeCtx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Close while a command runs, with its context cancelled = %v, want context.Canceled", err)
	}
	stopInvoke()
	<-done
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := e.ep.State().Sessions; n != 0 {
		t.Errorf("%d sessions left", n)
	}
}
