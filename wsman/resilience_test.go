package wsman_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/clock"
	simwsman "github.com/runbook-dev/runbook/sim/wsman"
	"github.com/runbook-dev/runbook/wsman"
)

// startSlow opens a cmd shell and starts a command that runs for an hour
// of the server's (fake) clock.
func startSlow(t *testing.T, ctx context.Context, c *wsman.Client) (*wsman.Shell, string) {
	t.Helper()
	sh, err := c.CreateShell(ctx, wsman.ShellOptions{ResourceURI: wsman.CmdResourceURI})
	if err != nil {
		t.Fatal(err)
	}
	id, err := sh.Command(ctx, wsman.CommandOptions{Command: "timeout /t 3600"})
	if err != nil {
		t.Fatal(err)
	}
	return sh, id
}

// TestCancelReceive cancels a long-polling Receive: it returns at once,
// without waiting for the server's poll window (the fake clock never
// moves), and the client goes on working on a new connection.
func TestCancelReceive(t *testing.T) {
	for mname, m := range modes {
		t.Run(mname, func(t *testing.T) {
			clk := clock.NewFake(epoch)
			cfg := m.server
			cfg.Clock = clk
			s := newServer(t, cfg)
			c := newClient(t, m.client(s))
			tctx := testContext(t)
			sh, id := startSlow(t, tctx, c)
			ctx, cancel := context.WithCancel(tctx)
			errc := make(chan error, 1)
			go func() {
				_, err := sh.Receive(ctx, id)
				errc <- err
			}()
			// The command's timer and the Receive's poll timer.
			if err := clk.BlockUntil(tctx, 2); err != nil {
				t.Fatal(err)
			}
			cancel()
			if err := <-errc; !errors.Is(err, context.Canceled) {
				t.Fatalf("Receive = %v, want context.Canceled", err)
			}
			if err := sh.Signal(tctx, id, wsman.SignalTerminate); err != nil {
				t.Fatalf("signal after cancel: %v", err)
			}
			if err := sh.Delete(tctx); err != nil {
				t.Fatalf("delete after cancel: %v", err)
			}
			if got := clk.Since(epoch); got != 0 {
				t.Errorf("the server clock moved %v", got)
			}
		})
	}
}

// TestCancelMasterzenRun cancels masterzen's RunWithContext mid-command.
// masterzen looks at its context only between Receive polls, so the run
// ends one OperationTimeout later, after signalling the command: here,
// exactly when the fake clock reaches the end of the poll window.
func TestCancelMasterzenRun(t *testing.T) {
	clk := clock.NewFake(epoch)
	cfg := modes["ntlm sealed over http"].server
	cfg.Clock = clk
	s := newServer(t, cfg)
	c := newClient(t, base(s)) // OperationTimeout 20s
	tctx := testContext(t)
	ctx, cancel := context.WithCancel(tctx)
	type outcome struct {
		code int
		err  error
	}
	done := make(chan outcome, 1)
	go func() {
		_, _, code, err := c.Winrm().RunWithContextWithString(ctx, "timeout /t 3600", "")
		done <- outcome{code, err}
	}()
	if err := clk.BlockUntil(tctx, 2); err != nil {
		t.Fatal(err)
	}
	cancel()
	clk.Advance(wsman.DefaultOperationTimeout - time.Second)
	select {
	case o := <-done:
		t.Fatalf("returned before the poll window closed: %+v", o)
	default:
	}
	clk.Advance(time.Second)
	o := <-done
	if !errors.Is(o.err, context.Canceled) {
		t.Fatalf("run = %+v, want context.Canceled", o)
	}
	if got := clk.Since(epoch); got != wsman.DefaultOperationTimeout {
		t.Errorf("took %v of server time, want one OperationTimeout (%v)", got, wsman.DefaultOperationTimeout)
	}
	signalled := false
	for _, r := range s.Requests() {
		signalled = signalled || strings.HasSuffix(r.Action, "/Signal")
	}
	if !signalled || s.Shells() != 0 {
		t.Errorf("signalled = %v, open shells = %d; want the command signalled and the shell deleted", signalled, s.Shells())
	}
}

// TestReauthenticateOn401 expires the security context of an
// authenticated connection: the refused request is resent once after a
// new handshake, invisibly to the caller.
func TestReauthenticateOn401(t *testing.T) {
	for _, mname := range []string{"ntlm sealed over http", "ntlm over https"} {
		t.Run(mname, func(t *testing.T) {
			s := newServer(t, modes[mname].server)
			c := newClient(t, modes[mname].client(s))
			ctx := testContext(t)
			sh, err := c.CreateShell(ctx, wsman.ShellOptions{ResourceURI: wsman.CmdResourceURI})
			if err != nil {
				t.Fatal(err)
			}
			s.ResetLog()
			s.Inject(simwsman.Injection{Action: "Command", Kind: simwsman.InjectStatus, Status: http.StatusUnauthorized})
			if _, err := sh.Command(ctx, wsman.CommandOptions{Command: "echo hi"}); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range s.Requests() {
				got = append(got, r.Auth+" "+shortAction(r.Action)+" "+http.StatusText(r.Status))
			}
			want := "connection Command Unauthorized|negotiate/1  Unauthorized|negotiate/3  OK|connection Command OK"
			if strings.Join(got, "|") != want {
				t.Errorf("requests = %q, want %q", strings.Join(got, "|"), want)
			}
		})
	}
}

func shortAction(a string) string { return a[strings.LastIndex(a, "/")+1:] }

// TestDroppedConnection drops the connection instead of replying: that
// request fails (its fate is unknown, so it is not resent), the next one
// reconnects.
func TestDroppedConnection(t *testing.T) {
	for _, kind := range []simwsman.InjectKind{simwsman.InjectDrop, simwsman.InjectDropReply} {
		t.Run(kind.String(), func(t *testing.T) {
			s := newServer(t, modes["ntlm sealed over http"].server)
			c := newClient(t, base(s))
			ctx := testContext(t)
			s.Inject(simwsman.Injection{Action: "Command", Kind: kind})
			sh, err := c.CreateShell(ctx, wsman.ShellOptions{ResourceURI: wsman.CmdResourceURI})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := sh.Command(ctx, wsman.CommandOptions{Command: "echo hi"}); err == nil {
				t.Fatal("command on a dropped connection succeeded")
			}
			if err := sh.Delete(ctx); err != nil {
				t.Fatalf("delete after the drop: %v", err)
			}
			commands := 0
			for _, r := range s.Requests() {
				if strings.HasSuffix(r.Action, "/Command") {
					commands++
				}
			}
			if commands != 1 {
				t.Errorf("%d Command requests, want 1 (never resent)", commands)
			}
		})
	}
}

// TestIdleConnectionClosed closes the client's idle connection on the
// server side, as Windows does after its idle timeout: the next request
// notices (its reader sees the close while the connection is idle) and
// reconnects before sending.
func TestIdleConnectionClosed(t *testing.T) {
	s := newServer(t, modes["ntlm sealed over http"].server)
	c := newClient(t, base(s))
	ctx := testContext(t)
	sh, err := c.CreateShell(ctx, wsman.ShellOptions{ResourceURI: wsman.CmdResourceURI})
	if err != nil {
		t.Fatal(err)
	}
	// The server marks the connection idle just after replying: poll for it.
	for s.CloseIdleConnections() == 0 {
		if ctx.Err() != nil {
			t.Fatal("the connection never went idle")
		}
		time.Sleep(time.Millisecond)
	}
	for wsman.DeadIdleConns(c) == 0 {
		if ctx.Err() != nil {
			t.Fatal("the client never noticed the close")
		}
		time.Sleep(time.Millisecond)
	}
	if err := sh.Delete(ctx); err != nil {
		t.Fatalf("delete on a new connection: %v", err)
	}
	if n := s.Connections(); n != 2 {
		t.Errorf("%d connections, want 2", n)
	}
}

// TestClose closes the client during a long-poll.
func TestClose(t *testing.T) {
	clk := clock.NewFake(epoch)
	cfg := modes["ntlm sealed over http"].server
	cfg.Clock = clk
	s := newServer(t, cfg)
	c := newClient(t, base(s))
	ctx := testContext(t)
	sh, id := startSlow(t, ctx, c)
	errc := make(chan error, 1)
	go func() {
		_, err := sh.Receive(ctx, id)
		errc <- err
	}()
	if err := clk.BlockUntil(ctx, 2); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if err := <-errc; err == nil {
		t.Fatal("Receive survived Close")
	}
	if err := sh.Delete(ctx); !errors.Is(err, wsman.ErrClosed) {
		t.Fatalf("after Close: %v, want ErrClosed", err)
	}
}

// TestSecretsNeverLogged runs every mode, with the right and a wrong
// password, with debug logging on, and looks for the password everywhere.
func TestSecretsNeverLogged(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var errs []string
	for mname, m := range modes {
		s := newServer(t, m.server)
		for _, pw := range []string{password, password + "-wrong"} {
			cfg := m.client(s)
			cfg.Password, cfg.Logger = pw, logger
			c := newClient(t, cfg)
			if got := c.Config().Password; got != "" {
				t.Errorf("%s: Config() exposes the password", mname)
			}
			if _, _, _, _, err := run(testContext(t), c, "echo hi", nil); err != nil {
				errs = append(errs, err.Error())
			}
		}
		for _, r := range s.Requests() {
			if strings.Contains(r.Body+r.Reply+r.User+r.Error, password) {
				t.Errorf("%s: request %d: the password is in the server log", mname, r.Seq)
			}
		}
	}
	if len(errs) != len(modes) {
		t.Errorf("%d errors, want one per mode (the wrong passwords): %q", len(errs), errs)
	}
	if !strings.Contains(logs.String(), "wsman round trip") {
		t.Error("no debug log lines were written")
	}
	for _, out := range append(errs, logs.String()) {
		if strings.Contains(out, password) {
			t.Fatalf("the password leaked: %q", out)
		}
	}
}
