package wsman_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	simwsman "github.com/runbook-dev/runbook/sim/wsman"
	"github.com/runbook-dev/runbook/wsman"
)

const (
	user     = `AZURESTACK\CloudAdmin`
	password = "Pa55w.rd-canary-41c7"
)

var epoch = time.Date(2026, 11, 28, 22, 0, 0, 0, time.UTC)

// mode pairs a simulator configuration with the client configuration that
// reaches it.
type mode struct {
	server simwsman.Config
	client func(s *simwsman.Server) wsman.Config
}

func base(s *simwsman.Server) wsman.Config {
	return wsman.Config{Host: s.Host(), Port: s.Port(), Username: user, Password: password}
}

var modes = map[string]mode{
	"basic over http": {
		server: simwsman.Config{Auth: simwsman.AuthBasic},
		client: func(s *simwsman.Server) wsman.Config {
			c := base(s)
			c.Auth = wsman.AuthBasic
			return c
		},
	},
	"basic over https": {
		server: simwsman.Config{Auth: simwsman.AuthBasic, TLS: true},
		client: func(s *simwsman.Server) wsman.Config {
			c := base(s)
			c.Auth, c.HTTPS, c.CAPEM = wsman.AuthBasic, true, s.CACertPEM()
			return c
		},
	},
	"ntlm over https": {
		server: simwsman.Config{Auth: simwsman.AuthNegotiate, TLS: true, Sealing: simwsman.SealRequired},
		client: func(s *simwsman.Server) wsman.Config {
			c := base(s)
			c.HTTPS, c.CAPEM = true, s.CACertPEM()
			return c
		},
	},
	"ntlm sealed over http": {
		server: simwsman.Config{Auth: simwsman.AuthNegotiate, Sealing: simwsman.SealRequired},
		client: base,
	},
}

func newServer(t *testing.T, cfg simwsman.Config) *simwsman.Server {
	t.Helper()
	if cfg.Auth != 0 && cfg.Username == "" {
		cfg.Username, cfg.Password = user, password
	}
	s, err := simwsman.NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func newClient(t *testing.T, cfg wsman.Config) *wsman.Client {
	t.Helper()
	c, err := wsman.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// run executes a cmd command line through the generic shell operations and
// returns stdout, stderr, the exit code and the number of Receives.
func run(ctx context.Context, c *wsman.Client, command string, stdin []byte) (string, string, int, int, error) {
	sh, err := c.CreateShell(ctx, wsman.ShellOptions{ResourceURI: wsman.CmdResourceURI})
	if err != nil {
		return "", "", 0, 0, err
	}
	defer sh.Delete(context.WithoutCancel(ctx))
	id, err := sh.Command(ctx, wsman.CommandOptions{Command: command})
	if err != nil {
		return "", "", 0, 0, err
	}
	if stdin != nil {
		if err := sh.Send(ctx, id, "stdin", stdin, true); err != nil {
			return "", "", 0, 0, err
		}
	}
	var out, errOut bytes.Buffer
	for receives := 1; ; receives++ {
		r, err := sh.Receive(ctx, id)
		if wsman.IsTimedOut(err) {
			continue
		}
		if err != nil {
			return "", "", 0, receives, err
		}
		for _, st := range r.Streams {
			if st.Name == "stderr" {
				errOut.Write(st.Data)
			} else {
				out.Write(st.Data)
			}
		}
		if r.Done() {
			err := sh.Signal(ctx, id, wsman.SignalTerminate)
			return out.String(), errOut.String(), r.ExitCode, receives, err
		}
	}
}

type result struct {
	Stdout, Stderr string
	Code           int
}

func TestShellOperations(t *testing.T) {
	cases := map[string]struct {
		command string
		stdin   string
		want    result
	}{
		"echo":      {command: "echo hello", want: result{Stdout: "hello\r\n"}},
		"stderr":    {command: "echo bad 1>&2", want: result{Stderr: "bad\r\n"}},
		"exit code": {command: "exit /b 7", want: result{Code: 7}},
		"stdin":     {command: "more", stdin: "from stdin", want: result{Stdout: "from stdin"}},
		"escaping":  {command: `echo <&>"'`, want: result{Stdout: "<&>\"'\r\n"}},
	}
	for mname, m := range modes {
		t.Run(mname, func(t *testing.T) {
			s := newServer(t, m.server)
			c := newClient(t, m.client(s))
			ctx := testContext(t)
			for name, tc := range cases {
				t.Run(name, func(t *testing.T) {
					var stdin []byte
					if tc.stdin != "" {
						stdin = []byte(tc.stdin)
					}
					out, errOut, code, _, err := run(ctx, c, tc.command, stdin)
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
		})
	}
}

// TestMasterzenThroughOurTransport runs masterzen's own command loop
// (concurrent Send and Receive) over the client's transport in every mode.
func TestMasterzenThroughOurTransport(t *testing.T) {
	for mname, m := range modes {
		t.Run(mname, func(t *testing.T) {
			s := newServer(t, m.server)
			c := newClient(t, m.client(s))
			// 1.2 MB of stdin: masterzen's Send chunks must fit the
			// server's 512000-byte envelope limit after base64.
			for _, in := range []string{"through masterzen", strings.Repeat("0123456789ABCDEF", 75000)} {
				out, errOut, code, err := c.Winrm().RunWithContextWithString(testContext(t), "more", in)
				if err != nil {
					t.Fatal(err)
				}
				if out != in || errOut != "" || code != 0 {
					t.Errorf("got %d bytes, %q, %d; want the %d bytes of stdin back", len(out), errOut, code, len(in))
				}
			}
		})
	}
}

// TestConcurrentStdin is the case masterzen's NewEncryption loses: 30 runs
// in a row of a command fed on stdin, Send and Receive in flight at once,
// all correct (run it with -race).
func TestConcurrentStdin(t *testing.T) {
	s := newServer(t, modes["ntlm sealed over http"].server)
	c := newClient(t, base(s))
	ctx := testContext(t)
	for i := range 30 {
		in := strings.Repeat("stdin line "+string(rune('A'+i%26))+"\r\n", 50+i*40)
		out, errOut, code, err := c.Winrm().RunWithContextWithString(ctx, "more", in)
		if err != nil || out != in || errOut != "" || code != 0 {
			t.Fatalf("run %d: got %d bytes out, %q, %d, %v; want the %d bytes of stdin back", i, len(out), errOut, code, err, len(in))
		}
	}
	for _, r := range s.Requests() {
		if r.Action != "" && !(r.Sealed && r.ReplySealed) {
			t.Fatalf("request %d (%s) was not sealed both ways", r.Seq, r.Action)
		}
	}
}

// TestManyGoroutines shares one client among goroutines, each with its own
// shell; requests interleave over the connection pool.
func TestManyGoroutines(t *testing.T) {
	s := newServer(t, modes["ntlm sealed over http"].server)
	c := newClient(t, base(s))
	ctx := testContext(t)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			want := strings.Repeat("x", 1000*(i+1))
			out, _, _, _, err := run(ctx, c, "more", []byte(want))
			if err == nil && out != want {
				err = errors.New("wrong output")
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := s.Connections(); n > 2 {
		t.Errorf("%d connections, want at most MaxConnections=2", n)
	}
}

func TestWrongPassword(t *testing.T) {
	for mname, m := range modes {
		t.Run(mname, func(t *testing.T) {
			s := newServer(t, m.server)
			cfg := m.client(s)
			cfg.Password = "wrong-" + password
			c := newClient(t, cfg)
			_, err := c.CreateShell(testContext(t), wsman.ShellOptions{ResourceURI: wsman.CmdResourceURI})
			if !errors.Is(err, wsman.ErrUnauthorized) {
				t.Fatalf("err = %v, want ErrUnauthorized", err)
			}
			if strings.Contains(err.Error(), cfg.Password) {
				t.Fatal("the password is in the error")
			}
			if n := s.Shells(); n != 0 {
				t.Errorf("%d shells opened", n)
			}
		})
	}
}

func TestTLSVerification(t *testing.T) {
	s := newServer(t, modes["ntlm over https"].server)
	ctx := testContext(t)

	cfg := modes["ntlm over https"].client(s)
	cfg.CAPEM = nil // system roots do not know the simulator's CA
	err := newClient(t, cfg).Connect(ctx)
	var ce *wsman.ConnectError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("untrusted certificate: err = %v, want a *ConnectError about the certificate", err)
	}
	if n := s.RoundTrips(); n != 0 {
		t.Errorf("%d requests reached the server", n)
	}

	var logs bytes.Buffer
	cfg.Insecure = true
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	c := newClient(t, cfg)
	if w := c.Warnings(); len(w) != 1 || !strings.Contains(w[0], "verification is disabled") {
		t.Errorf("Warnings() = %q, want the disabled-verification warning", w)
	}
	if !strings.Contains(logs.String(), "level=WARN") {
		t.Errorf("the warning was not logged: %q", logs.String())
	}
	if err := c.Connect(ctx); err != nil {
		t.Fatalf("insecure: %v", err)
	}
}
