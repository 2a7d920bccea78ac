package pep

import (
	"bytes"
	"context"
	"encoding/base64"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/runbook-dev/runbook/clock"
	"github.com/runbook-dev/runbook/pep/psrp"
	simpep "github.com/runbook-dev/runbook/sim/pep"
	simwsman "github.com/runbook-dev/runbook/sim/wsman"
	"github.com/runbook-dev/runbook/wsman"
)

const (
	testUser = `AZURESTACK\CloudAdmin`
	testPass = "Cloud-Admin-Pw1!"
	// canary is the BMC password planted in tests: every output is searched
	// for it.
	canary = "Canary-Bmc-7f3a"
)

// mode is a way of reaching the simulated PEP.
type mode struct {
	server simwsman.Config
	auth   wsman.Auth
	https  bool
}

var modes = map[string]mode{
	"basic over http": {server: simwsman.Config{Auth: simwsman.AuthBasic}, auth: wsman.AuthBasic},
	"sealed ntlm over http": {
		server: simwsman.Config{Auth: simwsman.AuthNegotiate, Sealing: simwsman.SealRequired},
		auth:   wsman.AuthNTLM,
	},
	"ntlm over https": {server: simwsman.Config{Auth: simwsman.AuthNegotiate, TLS: true}, auth: wsman.AuthNTLM, https: true},
}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// env is one simulated ERCS VM and a client configuration for it.
type env struct {
	ep   *simpep.Endpoint
	cfg  Config
	logs *syncBuffer
}

func newEnv(t *testing.T, m mode, pc simpep.Config) *env {
	t.Helper()
	if pc.BMCUpdateTime == 0 {
		pc.BMCUpdateTime = time.Nanosecond
	}
	if pc.RotationTime == 0 {
		pc.RotationTime = time.Nanosecond
	}
	wc := m.server
	wc.Username, wc.Password = testUser, testPass
	wc.Clock = pc.Clock
	ep, err := simpep.Start(pc, wc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ep.Close() })
	logs := &syncBuffer{}
	return &env{ep: ep, logs: logs, cfg: Config{
		Addresses: []string{ep.WSMan.Host()},
		Port:      ep.WSMan.Port(),
		HTTPS:     m.https,
		CAPEM:     ep.WSMan.CACertPEM(),
		Auth:      m.auth,
		Username:  testUser,
		Password:  testPass,
		Clock:     pc.Clock,
		Logger:    slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}}
}

func (e *env) dial(t *testing.T) Session {
	t.Helper()
	s, err := Dial(context.Background(), e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}

// secretForms are the ways a secret could show up in bytes: as it is, in
// UTF-16LE (a SecureString's plain text) and base64 of either.
func secretForms(s string) []string {
	var u16 []byte
	for _, c := range utf16.Encode([]rune(s)) {
		u16 = append(u16, byte(c), byte(c>>8))
	}
	return []string{s, string(u16), base64.StdEncoding.EncodeToString([]byte(s)), base64.StdEncoding.EncodeToString(u16)}
}

// assertNoSecret fails when any haystack holds the secret in any form.
func assertNoSecret(t *testing.T, secret, where string, haystacks ...string) {
	t.Helper()
	for _, h := range haystacks {
		for _, f := range secretForms(secret) {
			if strings.Contains(h, f) {
				t.Errorf("%s contains the secret (as %q…)", where, f[:min(len(f), 8)])
				return
			}
		}
	}
}

var base64Run = regexp.MustCompile(`>([A-Za-z0-9+/=\s]{24,})<`)

// decodedTraffic unpacks every base64 payload of the request log (creation
// XML, command arguments, sends and received streams) into fragments and
// messages, and returns their bytes and CLIXML texts: what a secret would
// look like had it been sent outside an encrypted SecureString.
func decodedTraffic(t *testing.T, recs []simwsman.Record) []string {
	t.Helper()
	var out []string
	partial := map[uint64][]byte{}
	for _, r := range recs {
		out = append(out, r.Body, r.Reply, r.Command)
		out = append(out, r.Arguments...)
		for _, text := range []string{r.Body, r.Reply} {
			for _, m := range base64Run.FindAllStringSubmatch(text, -1) {
				raw, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(m[1]), ""))
				if err != nil {
					continue
				}
				out = append(out, string(raw))
				frags, _ := psrp.ParseFragments(raw)
				for _, f := range frags {
					partial[f.ObjectID] = append(partial[f.ObjectID], f.Blob...)
					if !f.End {
						continue
					}
					msg, err := psrp.ParseMessage(partial[f.ObjectID])
					delete(partial, f.ObjectID)
					if err == nil {
						out = append(out, string(msg.Data))
					}
				}
			}
		}
	}
	return out
}

// driveFakeClock advances f to the next deadline whenever at least n timers
// are pending, until stop is closed, so that long-polls time out and action
// plans finish in virtual time. With n = 2 while a command sleeps, it waits
// for the server's long-poll as well, so polls time out one by one.
func driveFakeClock(f *clock.Fake, n int, stop <-chan struct{}) {
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-stop; cancel() }()
	for {
		if err := f.BlockUntil(ctx, n); err != nil {
			return
		}
		if next, ok := f.Next(); ok {
			f.AdvanceTo(next)
		}
	}
}
