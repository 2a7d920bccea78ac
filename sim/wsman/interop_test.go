package wsman_test

import (
	"testing"

	simwsman "github.com/runbook-dev/runbook/sim/wsman"
	"github.com/runbook-dev/runbook/wsman"
)

// TestCommandIDReusedAfterTerminate: Windows forgets a command once it is
// terminated, and accepts its CommandId for the next command (pypsrp runs a
// pipeline again under the same id).
func TestCommandIDReusedAfterTerminate(t *testing.T) {
	s := newServer(t, simwsman.Config{Auth: simwsman.AuthBasic})
	ctx := testContext(t)
	c, err := wsman.New(ctx, wsman.Config{Host: s.Host(), Port: s.Port(), Auth: wsman.AuthBasic, Username: user, Password: password})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sh, err := c.CreateShell(ctx, wsman.ShellOptions{ResourceURI: wsman.CmdResourceURI})
	if err != nil {
		t.Fatal(err)
	}
	const id = "1F3B9C7A-2D4E-4F60-8A1B-3C5D7E9F0A12"
	for i, line := range []string{"echo first", "echo second"} {
		got, err := sh.Command(ctx, wsman.CommandOptions{CommandID: id, Command: line})
		if err != nil {
			t.Fatalf("command %d with id %s: %v", i+1, id, err)
		}
		r, err := sh.Receive(ctx, got)
		if err != nil {
			t.Fatal(err)
		}
		if !r.Done() || len(r.Streams) == 0 || string(r.Streams[0].Data) != line[len("echo "):]+"\r\n" {
			t.Fatalf("command %d: %+v", i+1, r)
		}
		if err := sh.Signal(ctx, id, wsman.SignalTerminate); err != nil {
			t.Fatal(err)
		}
	}
	// Terminated means gone: its output can no longer be asked for.
	if _, err := sh.Receive(ctx, id); !isFault(err, "w:InvalidSelectors") {
		t.Errorf("receive after terminate: %v", err)
	}
}

// TestUPNUserNames: Windows takes the account as DOMAIN\user or as the UPN
// user@dns.domain, over Basic and NTLM (the UPN goes into NTLM as the user
// name with an empty domain, as requests-ntlm sends it).
func TestUPNUserNames(t *testing.T) {
	modes := map[string]struct {
		server simwsman.Config
		auth   wsman.Auth
	}{
		"basic":       {simwsman.Config{Auth: simwsman.AuthBasic}, wsman.AuthBasic},
		"sealed ntlm": {simwsman.Config{Auth: simwsman.AuthNegotiate, Sealing: simwsman.SealRequired}, wsman.AuthNTLM},
	}
	names := map[string]bool{
		"CloudAdmin@azurestack.local": true,
		"cloudadmin@AZURESTACK.LOCAL": true,
		`AZURESTACK\CloudAdmin`:       true,
		"CloudAdmin@contoso.local":    false,
		"CloudAdmin@":                 false,
	}
	for mname, m := range modes {
		s := newServer(t, m.server)
		for name, ok := range names {
			t.Run(mname+"/"+name, func(t *testing.T) {
				ctx := testContext(t)
				c, err := wsman.New(ctx, wsman.Config{Host: s.Host(), Port: s.Port(), Auth: m.auth, Username: name, Password: password})
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				sh, err := c.CreateShell(ctx, wsman.ShellOptions{ResourceURI: wsman.CmdResourceURI})
				if ok != (err == nil) {
					t.Fatalf("create shell as %s: %v, want success %v", name, err, ok)
				}
				if err == nil {
					_ = sh.Delete(ctx)
				}
			})
		}
	}
}
