package hub

import (
	"bytes"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// checkAssertion verifies a client assertion (RFC 7523) against the
// client's registered certificate and returns "" if it is good, else what is
// wrong (without echoing the assertion).
//
// What azidentity sends (identity.md): AD FS gets alg RS256 with x5t (SHA-1
// thumbprint); Entra gets PS256 with x5t#S256 (SHA-256). Entra also accepts
// RS256 with x5t from older clients, so the Entra style does too. aud must
// be the token endpoint; iss and sub the client id.
//
// The assertion's nbf and exp come from the client's wall clock, while the
// stamp runs on its own, possibly virtual, clock, so only their consistency
// is checked (exp after nbf, at most a day apart), not their distance from
// the stamp's now.
func (s *Server) checkAssertion(assertion string, cl *Client, tokenURL string) string {
	if cl.Certificate == nil {
		return "no certificate is registered for the application"
	}
	p, err := splitJWT(assertion)
	if err != nil {
		return "malformed JWT: " + err.Error()
	}
	var h struct {
		Alg     string `json:"alg"`
		X5t     string `json:"x5t"`
		X5tS256 string `json:"x5t#S256"`
	}
	if err := json.Unmarshal(p.header, &h); err != nil {
		return "malformed JWT header"
	}
	var thumb, want []byte
	switch {
	case s.opts.Identity == ADFS && h.Alg == "RS256" && h.X5t != "",
		s.opts.Identity == Entra && h.Alg == "RS256" && h.X5t != "" && h.X5tS256 == "":
		sum := sha1.Sum(cl.Certificate.Raw)
		want = sum[:]
		thumb, err = decodeThumbprint(h.X5t)
	case s.opts.Identity == Entra && h.Alg == "PS256" && h.X5tS256 != "":
		sum := sha256.Sum256(cl.Certificate.Raw)
		want = sum[:]
		thumb, err = decodeThumbprint(h.X5tS256)
	default:
		return fmt.Sprintf("unsupported signature: alg %q with x5t %t and x5t#S256 %t", h.Alg, h.X5t != "", h.X5tS256 != "")
	}
	if err != nil || !bytes.Equal(thumb, want) {
		return "the certificate thumbprint in the header is not registered for the application"
	}
	pub, ok := cl.Certificate.PublicKey.(*rsa.PublicKey)
	if !ok {
		return "the registered certificate has no RSA key"
	}
	if err := p.verify(h.Alg, pub); err != nil {
		return "signature validation failed"
	}
	var c struct {
		Aud audience `json:"aud"`
		Iss string   `json:"iss"`
		Sub string   `json:"sub"`
		Nbf int64    `json:"nbf"`
		Exp int64    `json:"exp"`
	}
	if err := json.Unmarshal(p.claims, &c); err != nil {
		return "malformed JWT claims"
	}
	audOK := false
	for _, a := range c.Aud {
		audOK = audOK || strings.EqualFold(strings.TrimRight(a, "/"), strings.TrimRight(tokenURL, "/"))
	}
	switch {
	case !audOK:
		return fmt.Sprintf("the audience claim %q does not match the token endpoint %q", []string(c.Aud), tokenURL)
	case !strings.EqualFold(c.Iss, cl.ID) || !strings.EqualFold(c.Sub, cl.ID):
		return "iss and sub must both be the client id"
	case c.Exp == 0:
		return "the exp claim is missing"
	case c.Nbf != 0 && (c.Exp <= c.Nbf || unixTime(c.Exp).Sub(unixTime(c.Nbf)) > 24*time.Hour):
		return "nbf and exp do not describe a validity of at most a day"
	}
	return ""
}
