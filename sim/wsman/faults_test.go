package wsman_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/masterzen/winrm"
	"github.com/runbook-dev/runbook/clock"
	simwsman "github.com/runbook-dev/runbook/sim/wsman"
)

func basicClient(t *testing.T, s *simwsman.Server) *winrm.Client {
	return modes["basic over http"].client(t, s, password)
}

// TestInjectedFaults checks what the unmodified masterzen client sees for
// each injected fault.
func TestInjectedFaults(t *testing.T) {
	tests := map[string]struct {
		inject  simwsman.Injection
		wantErr string // substring of the error; "" for success
		check   func(t *testing.T, s *simwsman.Server)
	}{
		"soap fault on create": {
			inject:  simwsman.Injection{Action: "Create", Kind: simwsman.InjectFault, Fault: simwsman.QuotaLimitFault(5)},
			wantErr: "received error response",
		},
		"http 503 on command": {
			inject:  simwsman.Injection{Action: "Command", Kind: simwsman.InjectStatus, Status: http.StatusServiceUnavailable},
			wantErr: "503",
		},
		"401 on receive": {
			inject:  simwsman.Injection{Action: "Receive", Kind: simwsman.InjectStatus, Status: http.StatusUnauthorized},
			wantErr: "401",
		},
		"dropped connection on receive": {
			inject:  simwsman.Injection{Action: "Receive", Kind: simwsman.InjectDrop},
			wantErr: "EOF",
		},
		"reply lost after command ran": {
			inject:  simwsman.Injection{Action: "Command", Kind: simwsman.InjectDropReply},
			wantErr: "EOF",
			check: func(t *testing.T, s *simwsman.Server) {
				// The command ran although the client never heard of it.
				for _, r := range s.Requests() {
					if r.Injected == "drop-reply" && r.Command != "echo hi" {
						t.Errorf("dropped request = %+v", r)
					}
				}
			},
		},
		"fault on an unrelated action": {
			inject: simwsman.Injection{Action: "Enumerate", Kind: simwsman.InjectStatus, Status: 500},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s := newServer(t, simwsman.Config{Auth: simwsman.AuthBasic})
			s.Inject(tc.inject)
			_, _, _, err := basicClient(t, s).RunWithContextWithString(context.Background(), "echo hi", "")
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("err = %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
			}
			if tc.check != nil {
				tc.check(t, s)
			}
		})
	}
}

func TestInjectionTimes(t *testing.T) {
	s := newServer(t, simwsman.Config{Auth: simwsman.AuthBasic})
	s.Inject(simwsman.Injection{Action: "Create", Kind: simwsman.InjectStatus, Status: 500, Times: 2})
	c := basicClient(t, s)
	for i, want := range []bool{false, false, true, true} {
		sh, err := c.CreateShell()
		if (err == nil) != want {
			t.Fatalf("create %d: err = %v", i, err)
		}
		if sh != nil {
			sh.Close()
		}
	}
	s.Inject(simwsman.Injection{Kind: simwsman.InjectStatus, Status: 500, Times: -1})
	s.ClearInjections()
	if _, err := c.CreateShell(); err != nil {
		t.Fatalf("after ClearInjections: %v", err)
	}
}

func TestShellLimit(t *testing.T) {
	s := newServer(t, simwsman.Config{Auth: simwsman.AuthBasic, MaxShells: 2})
	c := basicClient(t, s)
	var shells []*winrm.Shell
	for range 2 {
		sh, err := c.CreateShell()
		if err != nil {
			t.Fatal(err)
		}
		shells = append(shells, sh)
	}
	_, err := c.CreateShell()
	var ece *winrm.ExecuteCommandError
	if !errors.As(err, &ece) || !strings.Contains(ece.Body, "w:QuotaLimit") {
		t.Fatalf("third shell: err = %v, want a w:QuotaLimit fault", err)
	}
	if err := shells[0].Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateShell(); err != nil {
		t.Fatalf("after closing one: %v", err)
	}
	// masterzen's plain transports cannot report a SOAP fault: their
	// status check sits in a defer that assigns to unnamed results, so a
	// 500 reads as success. The server log shows the fault.
	s.ResetLog()
	_ = shells[0].Close()
	if got := s.Requests(); len(got) != 1 || got[0].Fault != "w:InvalidSelectors" {
		t.Fatalf("deleting a deleted shell: log = %+v, want one w:InvalidSelectors fault", got)
	}
}

// TestSlowReply delays Create on a fake clock: the client waits until the
// clock has moved.
func TestSlowReply(t *testing.T) {
	clk := clock.NewFake(epoch)
	s := newServer(t, simwsman.Config{Auth: simwsman.AuthBasic, Clock: clk})
	s.Inject(simwsman.Injection{Action: "Create", Kind: simwsman.InjectDelay, Delay: 90 * time.Second})
	c := basicClient(t, s)
	done := make(chan error, 1)
	go func() {
		_, err := c.CreateShell()
		done <- err
	}()
	if err := clk.BlockUntil(testContext(t), 1); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		t.Fatalf("Create returned before the delay: %v", err)
	default:
	}
	clk.Advance(90 * time.Second)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestSealingRequired checks that a sealing server refuses clear text
// from masterzen's plain NTLM transport, as Windows does with
// AllowUnencrypted=false.
func TestSealingRequired(t *testing.T) {
	s := newServer(t, simwsman.Config{Auth: simwsman.AuthNegotiate, Sealing: simwsman.SealRequired})
	ep := winrm.NewEndpoint(s.Host(), s.Port(), false, false, nil, nil, nil, 0)
	p := winrm.NewParameters("PT20S", "en-US", 153600)
	p.TransportDecorator = func() winrm.Transporter { return &winrm.ClientNTLM{} }
	_, _, _, err := mustClient(t, ep, password, p).RunWithContextWithString(context.Background(), "echo hi", "")
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("err = %v, want a 401", err)
	}
}

// TestEnvelopeLimit sends masterzen's stdin chunks with EnvelopeSize set to
// the server's limit: base64 makes each Send a third larger than the limit,
// and the server refuses it as Windows does. (masterzen's Basic transport
// reads the fault as success and goes on with the next chunk: stdin is
// silently cut short. The runbook client sizes masterzen's chunks to fit.)
func TestEnvelopeLimit(t *testing.T) {
	s := newServer(t, simwsman.Config{Auth: simwsman.AuthBasic})
	ep := winrm.NewEndpoint(s.Host(), s.Port(), false, false, nil, nil, nil, 0)
	c := mustClient(t, ep, password, winrm.NewParameters("PT20S", "en-US", 512000))
	out, _, _, _ := c.RunWithContextWithString(context.Background(), "more", strings.Repeat("x", 600000))
	if len(out) == 600000 {
		t.Error("the oversized chunk got through")
	}
	refused := false
	for _, r := range s.Requests() {
		refused = refused || (strings.HasSuffix(r.Action, "/Send") && r.Fault == "w:EncodingLimit")
	}
	if !refused {
		t.Fatal("no Send was refused with w:EncodingLimit")
	}
}
