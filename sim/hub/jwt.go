package hub

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// A minimal JSON Web Token implementation: RS256 signing for the access
// tokens the stamp issues, and RS256/PS256 verification for the client
// assertions azidentity sends. Only what the simulator needs; the header's
// alg is always checked against the algorithm the caller expects, never
// trusted.

var b64 = base64.RawURLEncoding

// signRS256 returns header.claims.signature with an RS256 signature.
func signRS256(key *rsa.PrivateKey, header, claims any) (string, error) {
	h, err := json.Marshal(header)
	if err != nil {
		return "", err
	}
	c, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	input := b64.EncodeToString(h) + "." + b64.EncodeToString(c)
	digest := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
	if err != nil {
		return "", err
	}
	return input + "." + b64.EncodeToString(sig), nil
}

// jwtParts is a split, decoded but unverified JWT.
type jwtParts struct {
	header, claims []byte // JSON
	input          []byte // signing input: the first two segments
	sig            []byte
}

// splitJWT decodes a compact JWS without verifying it.
func splitJWT(tok string) (*jwtParts, error) {
	segs := strings.Split(tok, ".")
	if len(segs) != 3 {
		return nil, errors.New("not a compact JWT (want three dot-separated segments)")
	}
	var p jwtParts
	var err error
	if p.header, err = b64.DecodeString(segs[0]); err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	if p.claims, err = b64.DecodeString(segs[1]); err != nil {
		return nil, fmt.Errorf("claims: %w", err)
	}
	if p.sig, err = b64.DecodeString(segs[2]); err != nil {
		return nil, fmt.Errorf("signature: %w", err)
	}
	p.input = []byte(segs[0] + "." + segs[1])
	return &p, nil
}

// verify checks the signature with pub under alg ("RS256" or "PS256").
func (p *jwtParts) verify(alg string, pub *rsa.PublicKey) error {
	digest := sha256.Sum256(p.input)
	switch alg {
	case "RS256":
		return rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], p.sig)
	case "PS256":
		// RFC 7518 fixes the salt length to the hash size; accept any, as
		// common verifiers (golang-jwt) do.
		return rsa.VerifyPSS(pub, crypto.SHA256, digest[:], p.sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto})
	}
	return fmt.Errorf("unsupported alg %q", alg)
}

// audience is a JWT "aud" claim: a string or an array of strings.
type audience []string

// UnmarshalJSON accepts both forms of aud.
func (a *audience) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*a = audience{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return errors.New("aud is neither a string nor an array of strings")
	}
	*a = many
	return nil
}

// decodeThumbprint reads an x5t or x5t#S256 header value. The JWS spec says
// base64url without padding; MSAL sends standard base64 with padding, so
// both are accepted.
func decodeThumbprint(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.RawURLEncoding, base64.URLEncoding, base64.StdEncoding, base64.RawStdEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("thumbprint is not base64")
}
