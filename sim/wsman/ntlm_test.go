package wsman

import (
	"bytes"
	"errors"
	"testing"
	"time"

	azntlm "github.com/Azure/go-ntlmssp"
	"github.com/bodgit/ntlmssp"
)

var epoch = time.Date(2026, 11, 28, 22, 0, 0, 0, time.UTC)

// handshake runs bodgit's client (the library masterzen's encryption and
// our client use) against the server half and returns both ends.
func handshake(t *testing.T, user, domain, password string, acct account, refuseSeal bool) (*ntlmssp.Client, *ntlmAuth, error) {
	t.Helper()
	c, err := ntlmssp.NewClient(ntlmssp.SetUserInfo(user, password), ntlmssp.SetDomain(domain))
	if err != nil {
		t.Fatal(err)
	}
	neg, err := c.Authenticate(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := &ntlmServer{}
	ch, err := srv.challengeMessage(neg, acct.domainOr("AZURESTACK"), refuseSeal, epoch)
	if err != nil {
		t.Fatal(err)
	}
	auth, err := c.Authenticate(ch, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, err := srv.authenticate(auth, acct)
	return c, a, err
}

func TestNTLMAuthenticate(t *testing.T) {
	acct := parseAccount(`AZURESTACK\CloudAdmin`, "Secr3t!")
	tests := map[string]struct {
		user, domain, password string
		wantErr                bool
	}{
		"domain and user":            {user: "CloudAdmin", domain: "AZURESTACK", password: "Secr3t!"},
		"bare user":                  {user: "CloudAdmin", password: "Secr3t!"},
		"user name case-insensitive": {user: "cloudadmin", domain: "azurestack", password: "Secr3t!"},
		"wrong password":             {user: "CloudAdmin", domain: "AZURESTACK", password: "secr3t!", wantErr: true},
		"wrong user":                 {user: "Administrator", domain: "AZURESTACK", password: "Secr3t!", wantErr: true},
		"wrong domain":               {user: "CloudAdmin", domain: "CONTOSO", password: "Secr3t!", wantErr: true},
		"anonymous":                  {wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, a, err := handshake(t, tc.user, tc.domain, tc.password, acct, false)
			if tc.wantErr {
				if !errors.Is(err, errBadCredentials) {
					t.Fatalf("authenticate = %v, want errBadCredentials", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if a.Flags&sealFlags != sealFlags {
				t.Errorf("negotiated flags %#x lack sealing %#x", a.Flags, sealFlags)
			}
		})
	}
}

// TestNTLMSealBothWays seals with bodgit's client session and unseals on
// the server, and back, over several messages so that sequence numbers and
// the continuing RC4 streams are exercised.
func TestNTLMSealBothWays(t *testing.T) {
	c, a, err := handshake(t, "CloudAdmin", "AZURESTACK", "pw", parseAccount(`AZURESTACK\CloudAdmin`, "pw"), false)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := newSealSession(a.Flags, a.SessionKey)
	if err != nil {
		t.Fatal(err)
	}
	cli := c.SecuritySession()
	for i, msg := range []string{"<s:Envelope/>", "", "second message", string(bytes.Repeat([]byte("x"), 70000))} {
		sealed, sig, err := cli.Wrap([]byte(msg))
		if err != nil {
			t.Fatal(err)
		}
		if len(msg) > 4 && bytes.Contains(sealed, []byte(msg[:4])) {
			t.Errorf("message %d: sealed bytes contain the clear text", i)
		}
		parts, err := parseSealedBody(sealedBody(sig, sealed, soapContentType))
		if err != nil {
			t.Fatal(err)
		}
		got, err := srv.unseal(parts[0].sealed, parts[0].sig)
		if err != nil {
			t.Fatalf("message %d: unseal: %v", i, err)
		}
		if string(got) != msg {
			t.Fatalf("message %d: unsealed %q, want %q", i, got, msg)
		}
		rs, rsig := srv.seal([]byte("reply " + msg))
		back, err := cli.Unwrap(rs, rsig)
		if err != nil {
			t.Fatalf("reply %d: client unwrap: %v", i, err)
		}
		if string(back) != "reply "+msg {
			t.Fatalf("reply %d: got %q", i, back)
		}
	}
	// A replayed message fails the sequence check.
	sealed, sig, _ := cli.Wrap([]byte("once"))
	if _, err := srv.unseal(sealed, sig); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.unseal(sealed, sig); err == nil {
		t.Fatal("replayed message was accepted")
	}
}

func TestNTLMRefuseSealDropsFlags(t *testing.T) {
	_, a, err := handshake(t, "CloudAdmin", "", "pw", parseAccount("CloudAdmin", "pw"), true)
	if err != nil {
		t.Fatal(err)
	}
	if a.Flags&(flagSeal|flagKeyExch) != 0 {
		t.Fatalf("flags %#x still negotiate sealing", a.Flags)
	}
	if _, err := newSealSession(a.Flags, a.SessionKey); err == nil {
		t.Fatal("seal session without the sealing flag")
	}
}

// TestNTLMAzureClient checks the server against Azure/go-ntlmssp, which
// masterzen's ClientNTLM uses: it hashes with the server's target name as
// the domain and refuses KEY_EXCH unless asked.
func TestNTLMAzureClient(t *testing.T) {
	acct := parseAccount(`AZURESTACK\CloudAdmin`, "pw")
	for name, password := range map[string]string{"right": "pw", "wrong": "nope"} {
		t.Run(name, func(t *testing.T) {
			neg, err := azntlm.NewNegotiateMessage("AZURESTACK", "")
			if err != nil {
				t.Fatal(err)
			}
			srv := &ntlmServer{}
			ch, err := srv.challengeMessage(neg, "AZURESTACK", false, epoch)
			if err != nil {
				t.Fatal(err)
			}
			auth, err := azntlm.ProcessChallenge(ch, "CloudAdmin", password, true)
			if err != nil {
				t.Fatal(err)
			}
			a, err := srv.authenticate(auth, acct)
			if (err != nil) != (name == "wrong") {
				t.Fatalf("authenticate = %v", err)
			}
			if err == nil && a.Domain != "AZURESTACK" {
				t.Errorf("domain %q, want AZURESTACK", a.Domain)
			}
		})
	}
}

func TestNTLMMalformed(t *testing.T) {
	srv := &ntlmServer{}
	acct := parseAccount("u", "p")
	for name, msg := range map[string][]byte{
		"empty":     nil,
		"short":     []byte("NTLMSSP\x00\x03\x00\x00\x00"),
		"bad field": append(append([]byte("NTLMSSP\x00\x03\x00\x00\x00"), bytes.Repeat([]byte{0xff}, 60)...), 0),
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := srv.authenticate(msg, acct); err == nil {
				t.Fatal("malformed AUTHENTICATE accepted")
			}
		})
	}
}
