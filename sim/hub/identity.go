package hub

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/runbook-dev/runbook/sim/certs"
)

// identity is the token-issuing side of the stamp's identity provider: the
// signing key and the record of issued tokens needed to revoke them.
type identity struct {
	key   *rsa.PrivateKey
	kid   string
	nonce string // distinguishes this server's tokens from another's in the same process

	mu           sync.Mutex
	seq          int // tokens issued
	revokedBelow int // tokens with a sequence number below this are invalid
}

func newIdentity() (*identity, error) {
	// The key is shared by every simulator in the process (generation is
	// slow); the nonce keeps one stamp from accepting another's tokens.
	key, err := certs.SigningKey("sim-hub-token")
	if err != nil {
		return nil, err
	}
	der := sha256.Sum256(key.PublicKey.N.Bytes())
	var n [8]byte
	if _, err := rand.Read(n[:]); err != nil {
		return nil, fmt.Errorf("sim/hub: token nonce: %w", err)
	}
	return &identity{key: key, kid: b64.EncodeToString(der[:20]), nonce: hex.EncodeToString(n[:])}, nil
}

// accessClaims are the claims of the access tokens the stamp issues, a
// subset of what AD FS and Entra put in ARM tokens.
type accessClaims struct {
	Aud      string `json:"aud"`
	Iss      string `json:"iss"`
	Iat      int64  `json:"iat"`
	Nbf      int64  `json:"nbf"`
	Exp      int64  `json:"exp"`
	AppID    string `json:"appid"`
	AppIDACR string `json:"appidacr"` // 1 = secret, 2 = certificate
	OID      string `json:"oid"`
	Sub      string `json:"sub"`
	TID      string `json:"tid,omitempty"`
	Ver      string `json:"ver"`
	JTI      string `json:"jti"`
}

// issue signs c as a new access token, numbering it for revocation.
func (id *identity) issue(c accessClaims) (string, error) {
	id.mu.Lock()
	id.seq++
	c.JTI = id.nonce + "." + strconv.Itoa(id.seq)
	id.mu.Unlock()
	return signRS256(id.key, map[string]string{"alg": "RS256", "typ": "JWT", "kid": id.kid, "x5t": id.kid}, c)
}

// revokeAll invalidates every token issued so far.
func (id *identity) revokeAll() {
	id.mu.Lock()
	defer id.mu.Unlock()
	id.revokedBelow = id.seq + 1
}

// issued returns how many tokens were issued.
func (id *identity) issued() int {
	id.mu.Lock()
	defer id.mu.Unlock()
	return id.seq
}

var errRevoked = errors.New("token revoked")

// verify checks that tok is a token this identity issued and has not
// revoked, and returns its claims. Expiry and audience are the caller's to
// check.
func (id *identity) verify(tok string) (*accessClaims, error) {
	p, err := splitJWT(tok)
	if err != nil {
		return nil, err
	}
	var h struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}
	if err := json.Unmarshal(p.header, &h); err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	if h.Alg != "RS256" || h.Kid != id.kid {
		return nil, errors.New("not signed by this identity provider")
	}
	if err := p.verify("RS256", &id.key.PublicKey); err != nil {
		return nil, errors.New("signature validation failed")
	}
	var c accessClaims
	if err := json.Unmarshal(p.claims, &c); err != nil {
		return nil, fmt.Errorf("claims: %w", err)
	}
	nonce, seqStr, _ := strings.Cut(c.JTI, ".")
	seq, err := strconv.Atoi(seqStr)
	if nonce != id.nonce || err != nil {
		return nil, errors.New("not issued by this stamp")
	}
	id.mu.Lock()
	revoked := seq < id.revokedBelow
	id.mu.Unlock()
	if revoked {
		return &c, errRevoked
	}
	return &c, nil
}

// jwks is the identity provider's signing key as a JSON Web Key Set.
func (id *identity) jwks() any {
	e := big.NewInt(int64(id.key.PublicKey.E)).Bytes()
	return map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "use": "sig", "alg": "RS256", "kid": id.kid, "x5t": id.kid,
		"n": b64.EncodeToString(id.key.PublicKey.N.Bytes()), "e": b64.EncodeToString(e),
	}}}
}

// unixTime converts a JWT NumericDate.
func unixTime(s int64) time.Time { return time.Unix(s, 0).UTC() }
