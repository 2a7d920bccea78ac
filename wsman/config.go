package wsman

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/runbook-dev/runbook/clock"
)

// Auth is the authentication mode.
type Auth int

const (
	// AuthNTLM is NTLMv2 inside HTTP Negotiate: sealed over HTTP, plain
	// inside TLS over HTTPS. It is the zero value and the PEP's mode.
	AuthNTLM Auth = iota
	// AuthBasic is HTTP Basic, allowed only to loopback addresses (the
	// simulator).
	AuthBasic
)

// String names the mode.
func (a Auth) String() string {
	switch a {
	case AuthNTLM:
		return "ntlm"
	case AuthBasic:
		return "basic"
	}
	return fmt.Sprintf("Auth(%d)", int(a))
}

// Defaults.
const (
	DefaultOperationTimeout = 20 * time.Second
	DefaultMaxEnvelopeSize  = 512000
	DefaultLocale           = "en-US"
	// requestGrace is added to OperationTimeout for the whole round trip:
	// the server answers within OperationTimeout, the rest is the network.
	requestGrace = 15 * time.Second
)

// Config says how to reach and authenticate to a WinRM endpoint.
type Config struct {
	// Host is an IP address or host name; Port defaults to 5985 (HTTP) or
	// 5986 (HTTPS).
	Host string
	Port int
	// HTTPS selects TLS. CAPEM is the PEM bundle that must have issued the
	// server certificate (the stamp's root CA); empty means the system
	// roots. Insecure skips verification, with a warning.
	HTTPS    bool
	CAPEM    []byte
	Insecure bool
	// Auth selects NTLM (default) or Basic (loopback only).
	Auth Auth
	// Username is DOMAIN\user, user@domain or user. Password is secret: it
	// is never logged nor put in an error.
	Username string
	Password string
	// OperationTimeout is the WS-Management OperationTimeout sent with each
	// request (how long a Receive may long-poll); default 20s.
	OperationTimeout time.Duration
	// RequestTimeout bounds one HTTP round trip of the masterzen path (which
	// carries no context); default OperationTimeout+15s.
	RequestTimeout time.Duration
	// MaxEnvelopeSize is sent as w:MaxEnvelopeSize; default 512000.
	MaxEnvelopeSize int
	// Locale is sent as w:Locale and p:DataLocale; default en-US (the PEP
	// expects it).
	Locale string
	// MaxConnections is how many requests may be in flight at once, each on
	// its own connection with its own NTLM context; default 2, so that a
	// Send need not wait behind a long-polling Receive. 1 serialises
	// everything on one connection.
	MaxConnections int
	// Clock times requests; default clock.Real.
	Clock clock.Clock
	// Logger receives debug lines per round trip (never bodies nor
	// credentials) and warnings; default discards.
	Logger *slog.Logger
	// Dial replaces the TCP dialer (tests).
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// ErrBasicNotLoopback is returned by New for Basic authentication to an
// address that is not a loopback IP literal.
var ErrBasicNotLoopback = errors.New("wsman: Basic authentication is only allowed to a loopback address (127.0.0.0/8, ::1)")

// withDefaults validates c and fills in defaults.
func (c Config) withDefaults() (Config, error) {
	if c.Host == "" {
		return c, errors.New("wsman: no host")
	}
	switch c.Auth {
	case AuthNTLM, AuthBasic:
	default:
		return c, fmt.Errorf("wsman: unknown auth mode %d", int(c.Auth))
	}
	if c.Auth == AuthBasic && !isLoopback(c.Host) {
		return c, fmt.Errorf("%w; refusing %s", ErrBasicNotLoopback, c.Host)
	}
	if c.Username == "" {
		return c, errors.New("wsman: no username")
	}
	if c.Port == 0 {
		c.Port = 5985
		if c.HTTPS {
			c.Port = 5986
		}
	}
	if c.OperationTimeout <= 0 {
		c.OperationTimeout = DefaultOperationTimeout
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = c.OperationTimeout + requestGrace
	}
	if c.MaxEnvelopeSize <= 0 {
		c.MaxEnvelopeSize = DefaultMaxEnvelopeSize
	}
	if c.MaxEnvelopeSize < 8192 {
		return c, fmt.Errorf("wsman: MaxEnvelopeSize %d is below 8192", c.MaxEnvelopeSize)
	}
	if c.MaxConnections <= 0 {
		c.MaxConnections = 2
	}
	if c.Locale == "" {
		c.Locale = DefaultLocale
	}
	if c.Clock == nil {
		c.Clock = clock.Real
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// isLoopback reports whether host is a loopback IP literal. Names (even
// "localhost") are refused: resolving them would already be traffic, and a
// resolver can say anything.
func isLoopback(host string) bool {
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// splitUser splits DOMAIN\user; user@domain and bare names stay whole with
// an empty domain, as NTLM expects.
func splitUser(name string) (domain, user string) {
	if d, u, ok := strings.Cut(name, `\`); ok {
		return d, u
	}
	return "", name
}
