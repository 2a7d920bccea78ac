package steps

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
)

// ServedCertificates reads the certificate a stamp endpoint presents. The
// secret_rotation step type owns this interface: plan compares what each
// endpoint serves now with the PFX that will replace it.
type ServedCertificates interface {
	// Served returns the leaf certificate the endpoint host (a DNS name
	// such as adminportal.east.contoso.com) presents on port 443.
	Served(ctx context.Context, host string) (*x509.Certificate, error)
}

// TLSServed reads served certificates with a TLS handshake. The
// certificate is read, not trusted: nothing is sent over the connection,
// and the evidence is for a reviewer to compare.
type TLSServed struct {
	// Dial replaces the TCP dialer (-simulate routes every host to the
	// simulated stamp's endpoints); nil dials host:443.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Served performs a handshake with host and returns the peer's leaf.
func (s TLSServed) Served(ctx context.Context, host string) (*x509.Certificate, error) {
	dial := s.Dial
	if dial == nil {
		var d net.Dialer
		dial = d.DialContext
	}
	raw, err := dial(ctx, "tcp", net.JoinHostPort(host, "443"))
	if err != nil {
		return nil, err
	}
	defer raw.Close()
	conn := tls.Client(raw, &tls.Config{
		ServerName: host,
		// Only the certificate is read, to show it; trust is judged on
		// the new certificates, not on what the stamp serves.
		InsecureSkipVerify: true, //nolint:gosec
		MinVersion:         tls.VersionTLS12,
	})
	if err := conn.HandshakeContext(ctx); err != nil {
		return nil, err
	}
	certs := conn.ConnectionState().PeerCertificates
	if len(certs) == 0 {
		return nil, errors.New("the endpoint presented no certificate")
	}
	return certs[0], nil
}
