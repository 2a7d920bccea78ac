package steps

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"path/filepath"
	"sync"

	"github.com/runbook-dev/runbook/internal/boundedread"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/runbook-dev/runbook/clock"
	"github.com/runbook-dev/runbook/hub"
	"github.com/runbook-dev/runbook/lang"
	"github.com/runbook-dev/runbook/pep"
)

// ConnOptions configure Conns.
type ConnOptions struct {
	// Clock runs every wait of the clients (retries, polls); it should be
	// the executor's clock. Default clock.Real.
	Clock clock.Clock
	// Logger receives the clients' request lines and warnings (never
	// secrets); nil logs nothing.
	Logger hub.Logger
	// HubOverride, when set, may change the configuration built from hub
	// block name before the client is made: endpoint, CA, credentials,
	// HTTP transport. -simulate uses it to point every hub at the
	// simulated stamp whatever the runbook says.
	HubOverride func(name string, cfg *hub.Config)
}

// Conns is the HubSource and PEPSource of a runbook: it opens one client
// per hub block on first use and shares it between steps, and opens a new
// session for every PEP call. It is safe for concurrent use.
type Conns struct {
	rb   *lang.Runbook
	opts ConnOptions

	mu     sync.Mutex
	closed bool
	hubs   map[string]*hubConn
}

// hubConn is one hub's client, or the error building it, once ready is
// closed.
type hubConn struct {
	ready  chan struct{}
	client *hub.Client
	roots  []*x509.Certificate
	err    error
	// dropped is set when the builder's ctx ended and the entry was
	// removed, so that waiters build it again with their own ctx.
	dropped bool
}

var (
	_ HubSource = (*Conns)(nil)
	_ PEPSource = (*Conns)(nil)
)

// NewConns returns the connections of runbook rb.
func NewConns(rb *lang.Runbook, opts ConnOptions) *Conns {
	if opts.Clock == nil {
		opts.Clock = clock.Real
	}
	return &Conns{rb: rb, opts: opts, hubs: map[string]*hubConn{}}
}

// ErrClosed is returned by Hub after Close.
var ErrClosed = errors.New("connections are closed")

// Hub returns the shared client of the hub block called name and the root
// CA certificates it trusts beyond the system roots (ca_file, or what
// HubOverride put in CAPEM), nil when there are none. The first call for a
// hub builds the client (which reads the stamp's metadata endpoint);
// concurrent callers wait for it, each within its own ctx. A failure is
// remembered, except one caused by the caller's ctx ending.
func (c *Conns) Hub(ctx context.Context, name string) (*hub.Client, []*x509.Certificate, error) {
	h, err := c.hub(ctx, name)
	if err != nil {
		return nil, nil, err
	}
	return h.client, h.roots, nil
}

// PEP opens a new session on the PEP of the pep block called name,
// configured with c's clock and logger; the caller closes it. Sessions are
// not cached: see PEPDialer.
func (c *Conns) PEP(ctx context.Context, name string) (pep.Session, error) {
	return NewPEPDialer(c.rb, PEPOptions{Clock: c.opts.Clock, Logger: printfLogger(c.opts.Logger)}).Dial(ctx, name)
}

// Close forgets every client; Hub fails afterwards. Clients already
// handed out stay usable until their steps end.
func (c *Conns) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	c.hubs = map[string]*hubConn{}
	return nil
}

func (c *Conns) hub(ctx context.Context, name string) (*hubConn, error) {
	for {
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return nil, fmt.Errorf("hub %s: %w", name, ErrClosed)
		}
		h, ok := c.hubs[name]
		if !ok {
			h = &hubConn{ready: make(chan struct{})}
			c.hubs[name] = h
			c.mu.Unlock()
			c.build(ctx, name, h)
			if h.err != nil && ctx.Err() != nil {
				h.dropped = true
				c.forget(name, h)
			}
			close(h.ready)
			return h, h.err
		}
		c.mu.Unlock()
		select {
		case <-h.ready:
		case <-ctx.Done():
			return nil, fmt.Errorf("hub %s: %w", name, ctx.Err())
		}
		if h.dropped {
			continue // the builder's ctx ended; try with ours
		}
		return h, h.err
	}
}

// forget drops h from the cache if it is still the entry for name.
func (c *Conns) forget(name string, h *hubConn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.hubs[name] == h {
		delete(c.hubs, name)
	}
}

// build makes the client of hub block name into h.
func (c *Conns) build(ctx context.Context, name string, h *hubConn) {
	cfg, err := c.hubConfig(name)
	if err != nil {
		h.err = err
		return
	}
	if c.opts.HubOverride != nil {
		c.opts.HubOverride(name, &cfg)
	}
	if h.roots, err = configRoots(&cfg); err != nil {
		h.err = fmt.Errorf("hub %s: %w", name, err)
		return
	}
	h.client, h.err = hub.New(ctx, cfg)
}

// hubConfig builds the client configuration of hub block name. Secrets are
// revealed here, at the hand-off to hub.Config, and nowhere else.
func (c *Conns) hubConfig(name string) (hub.Config, error) {
	b, ok := c.rb.Hubs[name]
	if !ok {
		return hub.Config{}, fmt.Errorf("hub %s: there is no hub block of that name", name)
	}
	a := b.Auth
	cfg := hub.Config{
		Name:           name,
		Endpoint:       b.Endpoint,
		CAFile:         c.path(b.CAFile),
		Insecure:       b.Insecure,
		SubscriptionID: b.SubscriptionID,
		Clock:          c.opts.Clock,
		Logger:         c.opts.Logger,
		Auth: hub.Auth{
			Method:              hub.AuthMethod(a.Method),
			Tenant:              a.Tenant,
			ClientID:            a.ClientID,
			ClientSecret:        hub.Secret(a.ClientSecret.Reveal()),
			CertificateFile:     c.path(a.CertificateFile),
			CertificatePassword: hub.Secret(a.CertificatePassword.Reveal()),
		},
	}
	return cfg, nil
}

// path resolves a file named in the runbook against the runbook directory.
func (c *Conns) path(name string) string { return runbookPath(c.rb, name) }

// runbookPath resolves a file named in runbook rb (ca_file, pfx_file)
// against rb.Dir, which is relative to the process's working directory as
// the CLI gives it. Absolute names and "" are returned unchanged.
func runbookPath(rb *lang.Runbook, name string) string {
	if name == "" || filepath.IsAbs(name) || rb == nil {
		return name
	}
	return filepath.Join(filepath.FromSlash(rb.Dir), filepath.FromSlash(name))
}

// configRoots parses the extra roots of cfg: CAPEM and the CAFile.
func configRoots(cfg *hub.Config) ([]*x509.Certificate, error) {
	var roots []*x509.Certificate
	add := func(data []byte, what string) error {
		for len(data) > 0 {
			var b *pem.Block
			b, data = pem.Decode(data)
			if b == nil {
				break
			}
			if b.Type != "CERTIFICATE" {
				continue
			}
			cert, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				return fmt.Errorf("%s: %w", what, err)
			}
			roots = append(roots, cert)
		}
		return nil
	}
	if err := add(cfg.CAPEM, "CA certificate"); err != nil {
		return nil, err
	}
	if cfg.CAFile != "" {
		data, err := boundedread.File(cfg.CAFile, boundedread.Cert)
		if err != nil {
			return nil, fmt.Errorf("ca_file: %w", err)
		}
		if err := add(data, "ca_file "+cfg.CAFile); err != nil {
			return nil, err
		}
	}
	return roots, nil
}

// retryable reports whether another attempt may get past err: network
// failures other than TLS verification, and HTTP 408, 429 and 5xx.
func retryable(err error) bool {
	var e *hub.Error
	if !errors.As(err, &e) || errors.Is(err, hub.ErrOutcomeUnknown) ||
		errors.Is(err, hub.ErrOperationFailed) || errors.Is(err, hub.ErrOperationCanceled) {
		return false
	}
	if e.StatusCode != 0 {
		return e.StatusCode == 408 || e.StatusCode == 429 || (e.StatusCode >= 500 && e.StatusCode != 501 && e.StatusCode != 505)
	}
	var auth *azidentity.AuthenticationFailedError
	if errors.As(err, &auth) {
		return auth.RawResponse == nil || auth.RawResponse.StatusCode >= 500
	}
	var ua x509.UnknownAuthorityError
	var ci x509.CertificateInvalidError
	var hn x509.HostnameError
	if e.Err == nil || errors.As(err, &ua) || errors.As(err, &ci) || errors.As(err, &hn) {
		return false
	}
	return true
}
