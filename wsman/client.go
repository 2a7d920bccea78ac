package wsman

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/masterzen/winrm"
	"github.com/masterzen/winrm/soap"
	"github.com/runbook-dev/runbook/clock"
)

// Client talks WS-Management to one endpoint. It is safe for concurrent
// use: up to Config.MaxConnections requests are in flight at once, each on
// its own authenticated connection; the rest wait their turn.
type Client struct {
	cfg      Config
	tr       *transport
	mz       *winrm.Client
	warnings []string
	// base ends at Close; the masterzen path, which carries no context,
	// runs its requests under it.
	base   context.Context
	cancel context.CancelFunc
}

// New validates cfg and prepares a client. It does not connect (Connect
// does, or the first request); it refuses Basic authentication to anything
// but a loopback IP literal without any network traffic. ctx is kept for
// its values only: the client lives until Close.
func New(ctx context.Context, cfg Config) (*Client, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	tr, err := newTransport(cfg)
	if err != nil {
		return nil, err
	}
	c := &Client{cfg: cfg, tr: tr}
	c.base, c.cancel = context.WithCancel(context.WithoutCancel(ctx))
	if cfg.HTTPS && cfg.Insecure {
		w := fmt.Sprintf("TLS certificate verification is disabled for %s: anyone on the path can impersonate the endpoint and read the credentials", tr.addr)
		c.warnings = append(c.warnings, w)
		cfg.Logger.Warn("wsman: " + w)
	}
	ep := winrm.NewEndpoint(strings.Trim(cfg.Host, "[]"), cfg.Port, cfg.HTTPS, cfg.Insecure, cfg.CAPEM, nil, nil, cfg.RequestTimeout)
	// masterzen cuts stdin into chunks of EnvelopeSize-1000 bytes before
	// base64 (4/3 larger), so it gets an envelope size whose Send requests
	// still fit in MaxEnvelopeSize.
	params := winrm.NewParameters(FormatDuration(cfg.OperationTimeout), cfg.Locale, masterzenEnvelopeSize(cfg.MaxEnvelopeSize))
	params.TransportDecorator = func() winrm.Transporter { return (*masterzenTransport)(c) }
	if c.mz, err = winrm.NewClientWithParameters(ep, cfg.Username, cfg.Password, params); err != nil {
		return nil, fmt.Errorf("wsman: %w", err)
	}
	return c, nil
}

// Warnings returns the security warnings about this client's configuration
// (e.g. TLS verification disabled); they were also logged.
func (c *Client) Warnings() []string { return append([]string(nil), c.warnings...) }

// URL returns the endpoint URL, e.g. "http://10.0.0.5:5985/wsman".
func (c *Client) URL() string { return c.tr.url }

// Config returns the configuration with defaults filled in; the password is
// blanked.
func (c *Client) Config() Config {
	cfg := c.cfg
	cfg.Password = ""
	return cfg
}

// Winrm returns a masterzen/winrm client whose requests all go through this
// client's transport (for cmd shells). Its Run methods take a context only
// between Receive polls; each of its requests is bounded by RequestTimeout
// and ends when this client is closed.
func (c *Client) Winrm() *winrm.Client { return c.mz }

// Connect dials and, for NTLM, authenticates now, so that an unreachable
// address or wrong credentials show before any command is sent. A dial or
// TLS failure is a *ConnectError.
func (c *Client) Connect(ctx context.Context) error {
	if err := c.tr.acquire(ctx); err != nil {
		return err
	}
	defer c.tr.releaseSlot()
	conn, _, err := c.tr.connection(ctx)
	if err != nil {
		return err
	}
	c.tr.release(conn, false)
	return nil
}

// Post sends a complete SOAP envelope and returns the reply envelope of an
// HTTP 200. A SOAP fault (HTTP 500) is a *FaultError; IsTimedOut tells a
// Receive that found nothing within OperationTimeout.
func (c *Client) Post(ctx context.Context, envelope []byte) ([]byte, error) {
	return c.tr.post(ctx, actionOf(envelope), envelope)
}

// Do builds the envelope from h and body (raw inner XML of s:Body), posts
// it, decodes the reply and checks that it relates to the request and, when
// wantAction is not empty, that its a:Action is wantAction.
func (c *Client) Do(ctx context.Context, h Header, body string, wantAction string) (*Response, error) {
	out, err := c.tr.post(ctx, h.Action, Envelope(h, body))
	if err != nil {
		return nil, err
	}
	r, err := ParseResponse(out)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", shortAction(h.Action), err)
	}
	if r.RelatesTo != "" && !strings.EqualFold(r.RelatesTo, h.MessageID) {
		return nil, fmt.Errorf("wsman: %s: reply relates to %s, not to %s", shortAction(h.Action), r.RelatesTo, h.MessageID)
	}
	if wantAction != "" && r.Action != wantAction {
		return nil, fmt.Errorf("wsman: %s: reply action is %q, want %q", shortAction(h.Action), r.Action, wantAction)
	}
	return r, nil
}

// NewHeader returns a header for action on resourceURI with this client's
// endpoint, OperationTimeout, MaxEnvelopeSize, locale and a fresh MessageID.
func (c *Client) NewHeader(action, resourceURI string) Header {
	return Header{
		To:               c.tr.url,
		Action:           action,
		ResourceURI:      resourceURI,
		MessageID:        NewMessageID(),
		OperationTimeout: c.cfg.OperationTimeout,
		MaxEnvelopeSize:  c.cfg.MaxEnvelopeSize,
		Locale:           c.cfg.Locale,
	}
}

// RoundTrips returns the number of HTTP requests sent so far, handshakes
// included.
func (c *Client) RoundTrips() int64 { return c.tr.trips.Load() }

// Close closes the connection; a request in flight fails at once, later
// ones with ErrClosed. It does not delete remote shells: do that first.
func (c *Client) Close() error {
	c.cancel()
	c.tr.close()
	return nil
}

// masterzenTransport is the Client seen as a winrm.Transporter.
type masterzenTransport Client

var _ winrm.Transporter = (*masterzenTransport)(nil)

// Transport is a no-op: the client was configured by New.
func (m *masterzenTransport) Transport(*winrm.Endpoint) error { return nil }

// Post sends masterzen's message under RequestTimeout on the client's clock.
func (m *masterzenTransport) Post(_ *winrm.Client, msg *soap.SoapMessage) (string, error) {
	c := (*Client)(m)
	ctx, cancel := clock.WithTimeout(c.base, c.cfg.Clock, c.cfg.RequestTimeout)
	defer cancel()
	env := []byte(msg.String())
	out, err := c.tr.post(ctx, actionOf(env), env)
	return string(out), err
}

// masterzenEnvelopeSize is the EnvelopeSize to give masterzen so that a
// Send of EnvelopeSize-1000 raw bytes, base64-encoded with about 2 KB of
// header around it, stays within max.
func masterzenEnvelopeSize(max int) int {
	return (max-4096)*3/4 + 1000
}

// actionOf finds the a:Action text of an envelope for logs and errors.
func actionOf(env []byte) string {
	i := bytes.Index(env, []byte(":Action"))
	if i < 0 {
		return ""
	}
	rest := env[i:]
	j := bytes.IndexByte(rest, '>')
	k := bytes.IndexByte(rest, '<')
	if j < 0 || k < j {
		return ""
	}
	return strings.TrimSpace(string(rest[j+1 : k]))
}
