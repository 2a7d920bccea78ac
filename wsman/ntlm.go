package wsman

import (
	"context"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"net/http"
	"strings"

	"github.com/bodgit/ntlmssp"
)

// NTLM negotiate flags (MS-NLMP 2.2.2.5) a sealing client insists on.
const (
	flagSign    = 0x00000010
	flagSeal    = 0x00000020
	flagESS     = 0x00080000
	flag128     = 0x20000000
	flagKeyExch = 0x40000000

	requiredSealFlags = flagSign | flagSeal | flagESS | flag128 | flagKeyExch
)

// handshake authenticates a new connection with NTLMv2 over Negotiate on
// two empty POSTs: NEGOTIATE → 401 with CHALLENGE, AUTHENTICATE → 200. It
// refuses a server that does not offer Negotiate (no fallback to Basic) and,
// in sealing mode, one whose challenge drops the sealing flags.
func (t *transport) handshake(ctx context.Context, c *conn) error {
	client, err := newNTLMClient(t.cfg.Username, t.cfg.Password)
	if err != nil {
		return fmt.Errorf("wsman: ntlm: %w", err)
	}
	negotiate, err := client.Authenticate(nil, nil)
	if err != nil {
		return fmt.Errorf("wsman: ntlm negotiate: %w", err)
	}
	t.trips.Add(1)
	r, err := c.roundTrip(ctx, t.newRequest(nil, soapContentType, "Negotiate "+base64.StdEncoding.EncodeToString(negotiate)))
	if err != nil {
		return fmt.Errorf("wsman: ntlm negotiate: %w", err)
	}
	if r.status != http.StatusUnauthorized {
		// A server that lets an unauthenticated request through is not the
		// server we were told about.
		return fmt.Errorf("%w (it answered %d to a NEGOTIATE message)", ErrNoNegotiate, r.status)
	}
	challenge, ok := negotiateToken(r.header)
	if !ok {
		return ErrNoNegotiate
	}
	if len(challenge) < 24 {
		return fmt.Errorf("wsman: ntlm: short challenge")
	}
	if flags := binary.LittleEndian.Uint32(challenge[20:24]); t.sealing() && flags&requiredSealFlags != requiredSealFlags {
		return ErrSealingRefused
	}
	auth, err := client.Authenticate(challenge, c.cbt)
	if err != nil {
		return fmt.Errorf("wsman: ntlm authenticate: %w", err)
	}
	t.trips.Add(1)
	r, err = c.roundTrip(ctx, t.newRequest(nil, soapContentType, "Negotiate "+base64.StdEncoding.EncodeToString(auth)))
	if err != nil {
		return fmt.Errorf("wsman: ntlm authenticate: %w", err)
	}
	switch r.status {
	case http.StatusOK:
	case http.StatusUnauthorized:
		return ErrUnauthorized
	default:
		return &HTTPError{StatusCode: r.status, Snippet: snippet(r)}
	}
	if t.sealing() && (!client.Complete() || client.SecuritySession() == nil) {
		return ErrSealingRefused
	}
	c.session = client.SecuritySession()
	c.authed = true
	return nil
}

// newNTLMClient is the NTLMv2 client for an account named "DOMAIN\user",
// or "user@dns.domain" (sent whole, with an empty domain, as Windows
// clients do).
func newNTLMClient(username, password string) (*ntlmssp.Client, error) {
	domain, user := splitUser(username)
	return ntlmssp.NewClient(
		ntlmssp.SetUserInfo(user, password),
		ntlmssp.SetDomain(domain),
		ntlmssp.SetVersion(ntlmssp.DefaultVersion()),
	)
}

// negotiateToken returns the token of a "WWW-Authenticate: Negotiate <b64>"
// header. A bare "Negotiate" or any other scheme does not count.
func negotiateToken(h http.Header) ([]byte, bool) {
	for _, v := range h.Values("WWW-Authenticate") {
		scheme, token, _ := strings.Cut(strings.TrimSpace(v), " ")
		if !strings.EqualFold(scheme, "Negotiate") || token == "" {
			continue
		}
		b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(token))
		if err != nil {
			return nil, false
		}
		return b, true
	}
	return nil, false
}

// channelBindings computes the RFC 5929 tls-server-end-point binding of the
// server certificate, which NTLM carries as MsvAvChannelBindings so that a
// host with CbtHardeningLevel=Strict accepts it.
func channelBindings(cs tls.ConnectionState) *ntlmssp.ChannelBindings {
	if len(cs.PeerCertificates) == 0 {
		return nil
	}
	cert := cs.PeerCertificates[0]
	var h crypto.Hash
	switch cert.SignatureAlgorithm {
	case x509.SHA384WithRSA, x509.ECDSAWithSHA384, x509.SHA384WithRSAPSS:
		h = crypto.SHA384
	case x509.SHA512WithRSA, x509.ECDSAWithSHA512, x509.SHA512WithRSAPSS:
		h = crypto.SHA512
	default: // MD5 and SHA-1 are replaced by SHA-256 (RFC 5929 4.1)
		h = crypto.SHA256
	}
	d := h.New()
	d.Write(cert.Raw)
	return &ntlmssp.ChannelBindings{ApplicationData: append([]byte(ntlmssp.TLSServerEndPoint+":"), d.Sum(nil)...)}
}
