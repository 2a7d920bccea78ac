package hub

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/sim/certs"
)

// signAssertion builds a client assertion signed with key under alg.
func signAssertion(t *testing.T, key *rsa.PrivateKey, alg string, header, claims map[string]any) string {
	t.Helper()
	header["alg"], header["typ"] = alg, "JWT"
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	input := b64.EncodeToString(h) + "." + b64.EncodeToString(c)
	d := sha256.Sum256([]byte(input))
	var sig []byte
	var err error
	if alg == "PS256" {
		sig, err = rsa.SignPSS(rand.Reader, key, crypto.SHA256, d[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	} else {
		sig, err = rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, d[:])
	}
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + b64.EncodeToString(sig)
}

func TestClientAssertions(t *testing.T) {
	ca, err := certs.NewCA("Assertion Test Root", epoch.AddDate(-1, 0, 0), epoch.AddDate(5, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.ClientCertificate("automation", epoch.AddDate(-1, 0, 0), epoch.AddDate(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	s1, s256 := sha1.Sum(leaf.Cert.Raw), sha256.Sum256(leaf.Cert.Raw)
	x5t, x5tS256 := base64.StdEncoding.EncodeToString(s1[:]), base64.StdEncoding.EncodeToString(s256[:])
	otherKey, err := certs.SigningKey("assertion-test-impostor")
	if err != nil {
		t.Fatal(err)
	}
	const id = "0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d"
	wall := time.Now() // assertions carry the client's wall-clock times

	type assertion struct {
		alg    string
		header map[string]any
		claims func(tokenURL string) map[string]any
		key    *rsa.PrivateKey
	}
	goodClaims := func(aud string) map[string]any {
		return map[string]any{"aud": aud, "iss": id, "sub": id, "jti": "j1",
			"nbf": wall.Unix(), "exp": wall.Add(10 * time.Minute).Unix()}
	}
	with := func(edit func(map[string]any)) func(string) map[string]any {
		return func(aud string) map[string]any { c := goodClaims(aud); edit(c); return c }
	}
	tests := map[string]struct {
		style    IdentityStyle
		a        assertion
		wantOK   bool
		wantText string
	}{
		"adfs RS256 x5t":             {ADFS, assertion{"RS256", map[string]any{"x5t": x5t}, goodClaims, leaf.Key}, true, ""},
		"adfs x5t base64url":         {ADFS, assertion{"RS256", map[string]any{"x5t": b64.EncodeToString(s1[:])}, goodClaims, leaf.Key}, true, ""},
		"adfs aud as array":          {ADFS, assertion{"RS256", map[string]any{"x5t": x5t}, with(func(c map[string]any) { c["aud"] = []string{c["aud"].(string)} }), leaf.Key}, true, ""},
		"adfs PS256 refused":         {ADFS, assertion{"PS256", map[string]any{"x5t#S256": x5tS256}, goodClaims, leaf.Key}, false, "unsupported signature"},
		"adfs wrong thumbprint":      {ADFS, assertion{"RS256", map[string]any{"x5t": x5tS256[:28]}, goodClaims, leaf.Key}, false, "thumbprint"},
		"adfs signed by another key": {ADFS, assertion{"RS256", map[string]any{"x5t": x5t}, goodClaims, otherKey}, false, "signature validation failed"},
		"adfs wrong audience":        {ADFS, assertion{"RS256", map[string]any{"x5t": x5t}, with(func(c map[string]any) { c["aud"] = "https://elsewhere/token" }), leaf.Key}, false, "audience claim"},
		"adfs iss not client":        {ADFS, assertion{"RS256", map[string]any{"x5t": x5t}, with(func(c map[string]any) { c["iss"] = "someone" }), leaf.Key}, false, "iss and sub"},
		"adfs no exp":                {ADFS, assertion{"RS256", map[string]any{"x5t": x5t}, with(func(c map[string]any) { delete(c, "exp") }), leaf.Key}, false, "exp claim"},
		"adfs week-long assertion":   {ADFS, assertion{"RS256", map[string]any{"x5t": x5t}, with(func(c map[string]any) { c["exp"] = wall.Add(7 * 24 * time.Hour).Unix() }), leaf.Key}, false, "at most a day"},
		"entra PS256 x5t#S256":       {Entra, assertion{"PS256", map[string]any{"x5t#S256": x5tS256}, goodClaims, leaf.Key}, true, ""},
		"entra RS256 x5t":            {Entra, assertion{"RS256", map[string]any{"x5t": x5t}, goodClaims, leaf.Key}, true, ""},
		"entra PS256 without S256":   {Entra, assertion{"PS256", map[string]any{"x5t": x5t}, goodClaims, leaf.Key}, false, "unsupported signature"},
		"entra none alg":             {Entra, assertion{"none", map[string]any{"x5t": x5t}, goodClaims, leaf.Key}, false, "unsupported signature"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := start(t, Options{Identity: tc.style, CA: ca, Clients: []Client{{ID: id, Certificate: leaf.Cert}}})
			tok := signAssertion(t, tc.a.key, tc.a.alg, tc.a.header, tc.a.claims(f.tokenURL()))
			status, body := f.requestToken(url.Values{
				"grant_type": {"client_credentials"}, "client_id": {id}, "client_info": {"1"},
				"client_assertion_type": {jwtBearer}, "client_assertion": {tok},
				"scope": {f.srv.Audience() + "/.default openid offline_access profile"},
			})
			if tc.wantOK {
				if status != 200 {
					t.Fatalf("status %d: %v", status, body)
				}
				return
			}
			desc, _ := body["error_description"].(string)
			if status != 401 || body["error"] != "invalid_client" || !strings.Contains(desc, tc.wantText) {
				t.Errorf("got %d %v, want 401 invalid_client mentioning %q", status, body, tc.wantText)
			}
		})
	}
}
