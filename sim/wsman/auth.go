package wsman

import (
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strings"
	"sync"
)

// Auth is a set of authentication schemes the server accepts.
type Auth int

// Authentication schemes. The zero Auth accepts every request without
// credentials (for protocol-layer tests only).
const (
	// AuthBasic accepts HTTP Basic with the configured account.
	AuthBasic Auth = 1 << iota
	// AuthNegotiate accepts NTLMv2 inside HTTP Negotiate, as the PEP does.
	AuthNegotiate
)

// Sealing says what the server requires of NTLM message encryption.
type Sealing int

const (
	// SealOptional accepts sealed and clear-text bodies.
	SealOptional Sealing = iota
	// SealRequired mirrors Windows' AllowUnencrypted=false: over plain HTTP
	// every request with a body must be sealed; others get 401.
	SealRequired
	// SealRefused negotiates NTLM without the sealing flags: a server that
	// will not seal, for downgrade tests. Sealed requests get 401.
	SealRefused
)

// account is the one account the server knows.
type account struct {
	domain, user, password string
}

func parseAccount(name, password string) account {
	a := account{user: name, password: password}
	if d, u, ok := strings.Cut(name, `\`); ok {
		a.domain, a.user = d, u
	}
	return a
}

// matches reports whether a client-supplied domain and user name the
// account: the user case-insensitively, the domain when given. Like
// Windows it takes "DOMAIN\user" and the UPN "user@dns.domain", whose DNS
// domain's first label must then be the account's domain
// (CloudAdmin@azurestack.local for AZURESTACK\CloudAdmin).
func (a account) matches(domain, user string) bool {
	if d, u, ok := strings.Cut(user, `\`); ok && domain == "" {
		domain, user = d, u
	}
	if i := strings.LastIndex(user, "@"); i > 0 && domain == "" {
		label, _, _ := strings.Cut(user[i+1:], ".")
		if label == "" {
			return false
		}
		domain, user = label, user[:i]
	}
	if !strings.EqualFold(user, a.user) {
		return false
	}
	return domain == "" || a.domain == "" || strings.EqualFold(domain, a.domain)
}

// checkBasic verifies a Basic Authorization header value.
func (a account) checkBasic(value string) (string, bool) {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(value))
	if err != nil {
		return "", false
	}
	user, pass, ok := strings.Cut(string(raw), ":")
	if !ok || !a.matches("", user) {
		return "", false
	}
	if subtle.ConstantTimeCompare([]byte(pass), []byte(a.password)) != 1 {
		return "", false
	}
	return user, true
}

// connState is the per-TCP-connection authentication state; NTLM
// authenticates a connection, not a request (http.sys behaves so).
type connState struct {
	id  int
	tls bool

	mu      sync.Mutex
	ntlm    *ntlmServer  // pending handshake after a NEGOTIATE message
	user    string       // authenticated user ("" when not)
	session *sealSession // NTLM security context, nil when not authenticated by NTLM
	flags   uint32
}

func (c *connState) reset() {
	c.ntlm, c.user, c.session, c.flags = nil, "", nil, 0
}

// challenges sets the WWW-Authenticate headers of a 401.
func (s *Server) challenges(w http.ResponseWriter) {
	if s.cfg.Auth&AuthNegotiate != 0 {
		w.Header().Add("WWW-Authenticate", "Negotiate")
	}
	if s.cfg.Auth&AuthBasic != 0 {
		w.Header().Add("WWW-Authenticate", `Basic realm="WSMAN"`)
	}
}

// splitAuthorization splits "Scheme value".
func splitAuthorization(h string) (scheme, value string) {
	scheme, value, _ = strings.Cut(strings.TrimSpace(h), " ")
	return strings.ToLower(scheme), strings.TrimSpace(value)
}
