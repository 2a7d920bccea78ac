package wsman_test

import (
	"errors"
	"strings"
	"testing"

	simwsman "github.com/runbook-dev/runbook/sim/wsman"
	"github.com/runbook-dev/runbook/wsman"
)

// TestDowngradeRefused points the NTLM client at servers that try to make
// it send less protected traffic. Each attempt must fail with an error,
// and no SOAP request, no Basic credential may reach the server in clear.
func TestDowngradeRefused(t *testing.T) {
	tests := map[string]struct {
		server simwsman.Config
		inject *simwsman.Injection
		https  bool
		want   error
	}{
		"server offers only basic": {
			server: simwsman.Config{Auth: simwsman.AuthBasic},
			want:   wsman.ErrNoNegotiate,
		},
		"server offers only basic over https": {
			server: simwsman.Config{Auth: simwsman.AuthBasic, TLS: true},
			https:  true,
			want:   wsman.ErrNoNegotiate,
		},
		"server without authentication": {
			server: simwsman.Config{},
			want:   wsman.ErrNoNegotiate,
		},
		"challenge drops the sealing flags": {
			server: simwsman.Config{Auth: simwsman.AuthNegotiate, Sealing: simwsman.SealRefused},
			want:   wsman.ErrSealingRefused,
		},
		"server stops sealing its replies": {
			server: simwsman.Config{Auth: simwsman.AuthNegotiate, Sealing: simwsman.SealRequired},
			inject: &simwsman.Injection{Action: "Create", Kind: simwsman.InjectUnsealedReply},
			want:   wsman.ErrUnsealedReply,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s := newServer(t, tc.server)
			if tc.inject != nil {
				s.Inject(*tc.inject)
			}
			cfg := base(s)
			if tc.https {
				cfg.HTTPS, cfg.CAPEM = true, s.CACertPEM()
			}
			c := newClient(t, cfg)
			_, err := c.CreateShell(testContext(t), wsman.ShellOptions{ResourceURI: wsman.CmdResourceURI})
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			for _, r := range s.Requests() {
				if r.Auth == "basic" {
					t.Errorf("request %d sent Basic credentials", r.Seq)
				}
				if r.Action != "" && !r.Sealed {
					t.Errorf("request %d (%s) was sent in clear text", r.Seq, r.Action)
				}
			}
		})
	}
}

// TestUnsealedReplyIsNotTrusted checks that after a clear-text reply the
// connection is dropped and the next request authenticates afresh.
func TestUnsealedReplyIsNotTrusted(t *testing.T) {
	s := newServer(t, modes["ntlm sealed over http"].server)
	c := newClient(t, base(s))
	ctx := testContext(t)
	s.Inject(simwsman.Injection{Action: "Command", Kind: simwsman.InjectUnsealedReply})
	sh, err := c.CreateShell(ctx, wsman.ShellOptions{ResourceURI: wsman.CmdResourceURI})
	if err != nil {
		t.Fatal(err)
	}
	_, cerr := sh.Command(ctx, wsman.CommandOptions{Command: "echo hi"})
	if !errors.Is(cerr, wsman.ErrUnsealedReply) {
		t.Fatalf("command: err = %v, want ErrUnsealedReply", cerr)
	}
	if err := sh.Delete(ctx); err != nil {
		t.Fatal(err)
	}
	if n := s.Connections(); n != 2 {
		t.Errorf("%d connections, want 2 (the tainted one dropped)", n)
	}
	if strings.Contains(cerr.Error(), password) {
		t.Fatal("password in error")
	}
}
