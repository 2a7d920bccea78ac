package pep

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/runbook-dev/runbook/clock"
	"github.com/runbook-dev/runbook/wsman"
)

// DefaultConfigurationName is the PEP's session configuration.
const DefaultConfigurationName = "PrivilegedEndpoint"

// Config says how to reach the PEP.
type Config struct {
	// Addresses are the ERCS VMs' IP addresses, tried in order: Dial moves
	// to the next when one cannot be reached (nothing was sent to it) or
	// has no session to spare, never once a command has run.
	Addresses []string
	// Port defaults to 5985 (HTTP) or 5986 (HTTPS).
	Port int
	// HTTPS selects TLS, verified against CAPEM; Insecure skips the check
	// (with a warning). The PEP itself listens on HTTP with sealed NTLM.
	HTTPS    bool
	CAPEM    []byte
	Insecure bool
	// Auth is wsman.AuthNTLM (the default, sealed over HTTP) or
	// wsman.AuthBasic (loopback simulator only).
	Auth wsman.Auth
	// Username is DOMAIN\CloudAdmin; Password is secret.
	Username, Password string
	// ConfigurationName defaults to "PrivilegedEndpoint".
	ConfigurationName string
	// OperationTimeout bounds each Receive long-poll; default 20s.
	OperationTimeout time.Duration
	// ReceiveTimeout is how long, on Clock, the client waits for the reply
	// to one Receive before it gives the session up: the server answers
	// within OperationTimeout, so only a dead connection takes longer.
	// Default OperationTimeout+30s; negative waits as long as the context
	// allows (tests that drive a fake clock by hand use that, so that the
	// client's deadline never races the server's).
	ReceiveTimeout time.Duration
	// MaxEnvelopeSize is sent to the server; default 512000 (Windows').
	MaxEnvelopeSize int
	// Clock times polls and waits; default clock.Real.
	Clock clock.Clock
	// Logger receives debug lines (command and parameter names, never
	// values) and warnings; default discards.
	Logger *slog.Logger
	// Rand supplies the RunspacePool and pipeline GUIDs; default
	// crypto/rand.
	Rand io.Reader
	// Dial replaces the TCP dialer; tests use it to route ERCS addresses to
	// a loopback simulator.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

func (c Config) withDefaults() (Config, error) {
	if len(c.Addresses) == 0 {
		return c, errors.New("pep: no address")
	}
	if c.Username == "" {
		return c, errors.New("pep: no username")
	}
	if c.ConfigurationName == "" {
		c.ConfigurationName = DefaultConfigurationName
	}
	if c.OperationTimeout <= 0 {
		c.OperationTimeout = wsman.DefaultOperationTimeout
	}
	if c.ReceiveTimeout == 0 {
		c.ReceiveTimeout = c.OperationTimeout + 30*time.Second
	}
	if c.MaxEnvelopeSize <= 0 {
		c.MaxEnvelopeSize = wsman.DefaultMaxEnvelopeSize
	}
	if c.Clock == nil {
		c.Clock = clock.Real
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// maxPayload is how many fragment bytes go into one envelope: base64
// inflates by 4/3, and the SOAP header and body tags need a few KiB.
func (c Config) maxPayload() int { return max((c.MaxEnvelopeSize-8192)*3/4, 4096) }
