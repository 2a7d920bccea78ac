package wsman_test

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/masterzen/winrm"
	"github.com/masterzen/winrm/soap"
	"github.com/runbook-dev/runbook/clock"
	simwsman "github.com/runbook-dev/runbook/sim/wsman"
	"github.com/runbook-dev/runbook/wsman"
)

const (
	user     = `AZURESTACK\CloudAdmin`
	password = "Pa55w.rd-canary-7f3e"
)

var epoch = time.Date(2026, 11, 28, 22, 0, 0, 0, time.UTC)

func newServer(t *testing.T, cfg simwsman.Config) *simwsman.Server {
	t.Helper()
	if cfg.Username == "" && cfg.Auth != 0 {
		cfg.Username, cfg.Password = user, password
	}
	s, err := simwsman.NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// lockedTransporter serialises masterzen's NewEncryption, whose Post races
// with itself when Send and Receive run at once (pep.md §3). The simulator
// reproduces that race, so the unwrapped transporter is not tested here.
type lockedTransporter struct {
	mu sync.Mutex
	winrm.Transporter
}

func (l *lockedTransporter) Post(c *winrm.Client, m *soap.SoapMessage) (string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.Transporter.Post(c, m)
}

// mode is one way the unmodified masterzen client reaches the simulator.
type mode struct {
	server func() simwsman.Config
	client func(t *testing.T, s *simwsman.Server, pw string) *winrm.Client
}

var modes = map[string]mode{
	"basic over http": {
		server: func() simwsman.Config { return simwsman.Config{Auth: simwsman.AuthBasic} },
		client: func(t *testing.T, s *simwsman.Server, pw string) *winrm.Client {
			ep := winrm.NewEndpoint(s.Host(), s.Port(), false, false, nil, nil, nil, 0)
			return mustClient(t, ep, pw, winrm.NewParameters("PT20S", "en-US", 153600))
		},
	},
	"ntlm over https": {
		server: func() simwsman.Config {
			// Serialised as below, so keep the poll short.
			return simwsman.Config{Auth: simwsman.AuthNegotiate, TLS: true, Sealing: simwsman.SealRequired, ReceiveCap: 50 * time.Millisecond}
		},
		client: func(t *testing.T, s *simwsman.Server, pw string) *winrm.Client {
			ep := winrm.NewEndpoint(s.Host(), s.Port(), true, false, s.CACertPEM(), nil, nil, 0)
			p := winrm.NewParameters("PT20S", "en-US", 153600)
			// masterzen's ClientNTLM runs each leg of a handshake as its
			// own round trip on whatever pooled connection is idle: with
			// a Send and a Receive at once, the AUTHENTICATE leg can reach
			// another connection than its NEGOTIATE, which http.sys (and
			// the simulator, which binds NTLM to a connection) answers
			// with 401. Serialised, the legs share one connection.
			p.TransportDecorator = func() winrm.Transporter { return &lockedTransporter{Transporter: &winrm.ClientNTLM{}} }
			return mustClient(t, ep, pw, p)
		},
	},
	"ntlm sealed by masterzen": {
		server: func() simwsman.Config {
			// masterzen's transport is serialised: a Send waits behind the
			// long-polling Receive, so keep the poll short.
			return simwsman.Config{Auth: simwsman.AuthNegotiate, Sealing: simwsman.SealRequired, ReceiveCap: 50 * time.Millisecond}
		},
		client: func(t *testing.T, s *simwsman.Server, pw string) *winrm.Client {
			ep := winrm.NewEndpoint(s.Host(), s.Port(), false, false, nil, nil, nil, 0)
			p := winrm.NewParameters("PT20S", "en-US", 153600)
			enc, err := winrm.NewEncryption("ntlm")
			if err != nil {
				t.Fatal(err)
			}
			p.TransportDecorator = func() winrm.Transporter { return &lockedTransporter{Transporter: enc} }
			return mustClient(t, ep, pw, p)
		},
	},
	"ntlm sealed by runbook": {
		server: func() simwsman.Config {
			return simwsman.Config{Auth: simwsman.AuthNegotiate, Sealing: simwsman.SealRequired}
		},
		client: func(t *testing.T, s *simwsman.Server, pw string) *winrm.Client {
			c, err := wsman.New(context.Background(), wsman.Config{Host: s.Host(), Port: s.Port(), Username: user, Password: pw, MaxEnvelopeSize: 153600})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			return c.Winrm()
		},
	},
}

func mustClient(t *testing.T, ep *winrm.Endpoint, pw string, p *winrm.Parameters) *winrm.Client {
	t.Helper()
	c, err := winrm.NewClientWithParameters(ep, user, pw, p)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type result struct {
	Stdout, Stderr string
	Code           int
}

// TestMasterzenEndToEnd runs the unmodified masterzen client against the
// simulator in every mode.
func TestMasterzenEndToEnd(t *testing.T) {
	big := strings.Repeat("0123456789abcdef", 20000) // 320 KB: several Sends and Receives
	cases := map[string]struct {
		command, stdin string
		want           result
	}{
		"echo":        {command: "echo hello world", want: result{Stdout: "hello world\r\n"}},
		"stderr":      {command: "echo oops 1>&2", want: result{Stderr: "oops\r\n"}},
		"exit code":   {command: "cmd /c exit 3", want: result{Code: 3}},
		"stdin":       {command: "more", stdin: "line one\r\nline two\r\n", want: result{Stdout: "line one\r\nline two\r\n"}},
		"large stdin": {command: "type con", stdin: big, want: result{Stdout: big}},
		// cmd.exe's own answers: type needs a file (con is the console),
		// and this shell has no files.
		"type without a file": {command: "type", want: result{Stderr: "The syntax of the command is incorrect.\r\n", Code: 1}},
		"type a file":         {command: "type C:\\notes.txt", want: result{Stderr: "The system cannot find the file specified.\r\n", Code: 1}},
		"more a file":         {command: "more C:\\notes.txt", want: result{Stderr: "Cannot access file C:\\notes.txt\r\n", Code: 1}},
		"unknown command":     {command: "frobnicate", want: result{Stderr: "'frobnicate' is not recognized as an internal or external command,\r\noperable program or batch file.\r\n", Code: 1}},
	}
	for mname, m := range modes {
		t.Run(mname, func(t *testing.T) {
			s := newServer(t, m.server())
			c := m.client(t, s, password)
			for name, tc := range cases {
				t.Run(name, func(t *testing.T) {
					out, errOut, code, err := c.RunWithContextWithString(context.Background(), tc.command, tc.stdin)
					if err != nil {
						t.Fatal(err)
					}
					if diff := cmp.Diff(tc.want, result{out, errOut, code}); diff != "" {
						t.Errorf("result mismatch (-want +got):\n%s", diff)
					}
				})
			}
			if n := s.Shells(); n != 0 {
				t.Errorf("%d shells left open", n)
			}
			for _, r := range s.Requests() {
				if strings.Contains(r.Body+r.Reply+r.User, password) {
					t.Fatalf("request %d: the password appears in the request log", r.Seq)
				}
				if sealed := m.server().Sealing == simwsman.SealRequired && !m.server().TLS; sealed && r.Action != "" && !(r.Sealed && r.ReplySealed) {
					t.Errorf("request %d (%s) travelled in clear text", r.Seq, r.Action)
				}
			}
		})
	}
}

func TestMasterzenWrongPassword(t *testing.T) {
	for mname, m := range modes {
		t.Run(mname, func(t *testing.T) {
			s := newServer(t, m.server())
			c := m.client(t, s, "wrong-"+password)
			_, _, _, err := c.RunWithContextWithString(context.Background(), "echo hi", "")
			if err == nil {
				t.Fatal("ran a command with a wrong password")
			}
			for _, r := range s.Requests() {
				if r.Action != "" && r.Status == 200 {
					t.Errorf("request %d (%s) was served", r.Seq, r.Action)
				}
			}
		})
	}
}

func TestMasterzenUntrustedCertificate(t *testing.T) {
	s := newServer(t, simwsman.Config{Auth: simwsman.AuthNegotiate, TLS: true})
	ep := winrm.NewEndpoint(s.Host(), s.Port(), true, false, nil, nil, nil, 0)
	p := winrm.NewParameters("PT20S", "en-US", 153600)
	p.TransportDecorator = func() winrm.Transporter { return &winrm.ClientNTLM{} }
	_, _, _, err := mustClient(t, ep, password, p).RunWithContextWithString(context.Background(), "echo hi", "")
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("err = %v, want a certificate error", err)
	}
	if n := s.RoundTrips(); n != 0 {
		t.Errorf("%d requests reached the server", n)
	}
}

// TestLongPollTimesOut drives a 30-second command on a fake clock with a
// 5-second OperationTimeout: the Receive long-polls, faults with w:TimedOut
// each time the poll window closes, and masterzen polls again until Done.
func TestLongPollTimesOut(t *testing.T) {
	clk := clock.NewFake(epoch)
	s := newServer(t, simwsman.Config{Auth: simwsman.AuthBasic, Clock: clk})
	ep := winrm.NewEndpoint(s.Host(), s.Port(), false, false, nil, nil, nil, 0)
	c := mustClient(t, ep, password, winrm.NewParameters("PT5S", "en-US", 153600))
	done := make(chan result, 1)
	go func() {
		out, errOut, code, err := c.RunWithContextWithString(context.Background(), "timeout /t 30", "")
		if err != nil {
			t.Error(err)
		}
		done <- result{out, errOut, code}
	}()
	ctx := testContext(t)
	for range 6 {
		// The command's timer and the Receive's poll timer.
		if err := clk.BlockUntil(ctx, 2); err != nil {
			t.Fatal(err)
		}
		clk.Advance(5 * time.Second)
	}
	if got := <-done; got != (result{}) {
		t.Fatalf("result = %+v, want a clean exit", got)
	}
	timedOut := 0
	for _, r := range s.Requests() {
		if r.Fault == "w:TimedOut" {
			timedOut++
			if !strings.Contains(r.Reply, "OperationTimeout") {
				t.Errorf("TimedOut fault without the OperationTimeout text masterzen looks for")
			}
		}
	}
	if timedOut < 5 {
		t.Errorf("%d TimedOut faults, want at least 5", timedOut)
	}
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestCanaryStdin checks that data sent on stdin is recorded as input and
// appears in no command line.
func TestCanaryStdin(t *testing.T) {
	const canary = "BMC-canary-9c1d"
	s := newServer(t, simwsman.Config{Auth: simwsman.AuthBasic})
	c := modes["basic over http"].client(t, s, password)
	out, _, _, err := c.RunWithContextWithString(context.Background(), "more", canary)
	if err != nil || out != canary {
		t.Fatalf("out = %q, err = %v", out, err)
	}
	var input bytes.Buffer
	for _, r := range s.Requests() {
		if strings.Contains(r.Command+strings.Join(r.Arguments, " "), canary) {
			t.Errorf("request %d carries the canary on its command line", r.Seq)
		}
		for _, st := range r.Input {
			input.Write(st.Data)
		}
	}
	if input.String() != canary {
		t.Errorf("recorded input %q, want the canary", input.String())
	}
}
