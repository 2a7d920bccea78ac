package wsman_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/masterzen/winrm"
	"github.com/masterzen/winrm/soap"
	simwsman "github.com/runbook-dev/runbook/sim/wsman"
)

// count sorts a server log into SOAP requests, Receives among them, and
// the rest (handshake legs, probes).
type count struct{ total, soap, receives int }

func countLog(s *simwsman.Server) count {
	var c count
	for _, r := range s.Requests() {
		c.total++
		if r.Action != "" {
			c.soap++
		}
		if strings.HasSuffix(r.Action, "/Receive") {
			c.receives++
		}
	}
	return c
}

// TestRoundTrips measures the HTTP round trips of one command (Create,
// Command, Receive…, Signal, Delete; no stdin) in each mode, and checks the
// formula of each transport:
//
//	runbook transport:     5 + extra Receives, plus 2 per new NTLM connection
//	masterzen Basic:       5 + extra Receives
//	masterzen ClientNTLM:  5 + extra Receives, plus 3 per new connection
//	                       (anonymous probe, NEGOTIATE, AUTHENTICATE)
//	masterzen NewEncryption: 4 per SOAP request (probe, NEGOTIATE,
//	                       AUTHENTICATE on an empty POST, the sealed POST)
//
// Run with -v to see the table.
func TestRoundTrips(t *testing.T) {
	type way struct {
		server simwsman.Config
		client func(t *testing.T, s *simwsman.Server) *winrm.Client
		// want computes the expected total from the SOAP requests, the
		// Receives beyond the first and whether the connection was new.
		want func(c count, warm bool) int
	}
	ours := func(mode string, ntlm bool) way {
		return way{
			server: modes[mode].server,
			client: func(t *testing.T, s *simwsman.Server) *winrm.Client {
				return newClient(t, modes[mode].client(s)).Winrm()
			},
			want: func(c count, warm bool) int {
				if ntlm && !warm {
					return c.soap + 2
				}
				return c.soap
			},
		}
	}
	masterzen := func(cfg simwsman.Config, https bool, tr func() winrm.Transporter, want func(count, bool) int) way {
		return way{
			server: cfg,
			client: func(t *testing.T, s *simwsman.Server) *winrm.Client {
				ep := winrm.NewEndpoint(s.Host(), s.Port(), https, false, s.CACertPEM(), nil, nil, 0)
				p := winrm.NewParameters("PT20S", "en-US", 153600)
				p.TransportDecorator = tr
				c, err := winrm.NewClientWithParameters(ep, user, password, p)
				if err != nil {
					t.Fatal(err)
				}
				return c
			},
			want: want,
		}
	}
	ways := map[string]way{
		"runbook basic over http":       ours("basic over http", false),
		"runbook ntlm over https":       ours("ntlm over https", true),
		"runbook ntlm sealed over http": ours("ntlm sealed over http", true),
		"masterzen basic over http": masterzen(simwsman.Config{Auth: simwsman.AuthBasic}, false, nil,
			func(c count, _ bool) int { return c.soap }),
		"masterzen ClientNTLM over https": masterzen(simwsman.Config{Auth: simwsman.AuthNegotiate, TLS: true}, true,
			func() winrm.Transporter { return &winrm.ClientNTLM{} },
			func(c count, warm bool) int {
				if warm {
					return c.soap
				}
				return c.soap + 2 // the probe and NEGOTIATE; AUTHENTICATE carries the first request
			}),
		"masterzen NewEncryption over http": masterzen(simwsman.Config{Auth: simwsman.AuthNegotiate, Sealing: simwsman.SealRequired}, false,
			func() winrm.Transporter {
				enc, _ := winrm.NewEncryption("ntlm")
				return &lockedTransporter{Transporter: enc}
			},
			func(c count, _ bool) int { return 4 * c.soap }),
	}
	for name, w := range ways {
		t.Run(name, func(t *testing.T) {
			s := newServer(t, w.server)
			c := w.client(t, s)
			for _, warm := range []bool{false, true} {
				s.ResetLog()
				var out strings.Builder
				code, err := c.RunWithContext(testContext(t), "echo hi", &out, &strings.Builder{})
				if err != nil || code != 0 || out.String() != "hi\r\n" {
					t.Fatalf("run: %q, %d, %v", out.String(), code, err)
				}
				got := countLog(s)
				if want := w.want(got, warm); got.total != want {
					t.Errorf("warm=%v: %d round trips for %d SOAP requests, want %d", warm, got.total, got.soap, want)
				}
				t.Logf("%-36s warm=%-5v round trips %2d (SOAP %d, of which Receive %d)", name, warm, got.total, got.soap, got.receives)
			}
		})
	}
}

// lockedTransporter serialises masterzen's NewEncryption, which races with
// itself otherwise (pep.md §3).
type lockedTransporter struct {
	mu sync.Mutex
	winrm.Transporter
}

func (l *lockedTransporter) Post(c *winrm.Client, m *soap.SoapMessage) (string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.Transporter.Post(c, m)
}
