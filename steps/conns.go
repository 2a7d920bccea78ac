package steps

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"

	"github.com/runbook-dev/runbook/internal/boundedread"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/runbook-dev/runbook/clock"
	"github.com/runbook-dev/runbook/executor"
	"github.com/runbook-dev/runbook/hub"
	"github.com/runbook-dev/runbook/lang"
	"github.com/zclconf/go-cty/cty"
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

// Conns is the executor.Conns of runbook's step types: it opens one client
// per hub block on first use and shares it between steps. It is safe for
// concurrent use.
//
// Connect("hub", name) returns a shared *hub.Client; Connect("pep", name)
// opens a new pep.Session, which the caller closes.
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

var _ executor.Conns = (*Conns)(nil)

// NewConns returns the connections of runbook rb.
func NewConns(rb *lang.Runbook, opts ConnOptions) *Conns {
	if opts.Clock == nil {
		opts.Clock = clock.Real
	}
	return &Conns{rb: rb, opts: opts, hubs: map[string]*hubConn{}}
}

// ErrClosed is returned by Connect after Close.
var ErrClosed = errors.New("connections are closed")

// Connect returns the client for the hub or pep block called name. The
// first call for a hub builds the client (which reads the stamp's metadata
// endpoint); concurrent callers wait for it, each within its own ctx. A
// failure is remembered, except one caused by the caller's ctx ending.
func (c *Conns) Connect(ctx context.Context, kind, name string) (any, error) {
	switch kind {
	case "hub":
		h, err := c.hub(ctx, name)
		if err != nil {
			return nil, err
		}
		return h.client, nil
	case "pep":
		// PEP sessions are not cached: see PEPDialer.
		if _, ok := c.rb.PEPs[name]; !ok {
			return nil, fmt.Errorf("pep %s: there is no pep block of that name", name)
		}
		return c.dialPEP(ctx, name)
	}
	return nil, fmt.Errorf("unknown connection kind %q (want hub or pep)", kind)
}

// HubRoots returns the root CA certificates the client of hub name trusts
// beyond the system roots (ca_file, or what HubOverride put in CAPEM), nil
// when there are none. It connects first, if no step has yet. Step types
// use it to check locally that a certificate chains to the stamp's root.
func (c *Conns) HubRoots(ctx context.Context, name string) ([]*x509.Certificate, error) {
	h, err := c.hub(ctx, name)
	if err != nil {
		return nil, err
	}
	return h.roots, nil
}

// Close forgets every client; Connect fails afterwards. Clients already
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

// stepConfig reads the decoded body of a step, reporting problems as
// diagnostics on the attribute at fault.
type stepConfig struct {
	val   cty.Value
	body  *hclsyntax.Body // for attribute ranges; nil for other syntaxes
	decl  hcl.Range
	diags hcl.Diagnostics
	// offline is set for validate, where values from unset variables and
	// env() are unknown: an unknown value is then skipped, not an error.
	offline bool
}

func newStepConfig(rb *lang.Runbook, address string, config cty.Value, decl hcl.Range) *stepConfig {
	s := &stepConfig{val: config, decl: decl}
	if rb != nil {
		if st, ok := rb.Steps[strings.TrimPrefix(address, "step.")]; ok {
			s.body, _ = st.Body.(*hclsyntax.Body)
			if decl == (hcl.Range{}) {
				s.decl = st.DeclRange
			}
		}
	}
	return s
}

// rng returns the range of attribute name's expression, or the step's.
func (s *stepConfig) rng(name string) hcl.Range {
	if s.body != nil {
		if a, ok := s.body.Attributes[name]; ok {
			return a.Expr.Range()
		}
	}
	return s.decl
}

func (s *stepConfig) errorf(name, summary, format string, args ...any) {
	s.diags = append(s.diags, &hcl.Diagnostic{
		Severity: hcl.DiagError, Summary: summary, Detail: fmt.Sprintf(format, args...), Subject: s.rng(name).Ptr(),
	})
}

// get returns attribute name without marks; ok is false when it is null or
// (with a diagnostic) unknown.
func (s *stepConfig) get(name string) (cty.Value, bool) {
	if s.val.IsNull() || !s.val.IsKnown() || !s.val.Type().IsObjectType() || !s.val.Type().HasAttribute(name) {
		return cty.NilVal, false
	}
	v, _ := s.val.GetAttr(name).UnmarkDeep()
	if v.IsNull() {
		return cty.NilVal, false
	}
	if !v.IsWhollyKnown() {
		if s.offline {
			return cty.NilVal, false
		}
		s.errorf(name, "Value not known at plan time",
			"The argument %q depends on a value that is known only after apply; runbook needs it to plan. Use a variable or a literal value.", name)
		return cty.NilVal, false
	}
	return v, true
}

// str returns string attribute name, "" when absent.
func (s *stepConfig) str(name string) string {
	v, ok := s.get(name)
	if !ok || v.Type() != cty.String {
		return ""
	}
	return v.AsString()
}

// boolean returns bool attribute name, false when absent.
func (s *stepConfig) boolean(name string) bool {
	v, ok := s.get(name)
	return ok && v.Type() == cty.Bool && v.True()
}

// hub returns the name of the hub the hub attribute refers to.
func (s *stepConfig) hub() string { return s.blockRef("hub") }

// blockRef returns the name of the block of kind ("hub" or "pep") that the
// argument of the same name refers to, with a diagnostic if it refers to
// anything else.
func (s *stepConfig) blockRef(kind string) string {
	v, ok := s.get(kind)
	if !ok {
		return ""
	}
	t := v.Type()
	if t.IsObjectType() && t.HasAttribute("kind") && t.HasAttribute("name") {
		k, name := v.GetAttr("kind"), v.GetAttr("name")
		if k.Type() == cty.String && name.Type() == cty.String && !k.IsNull() && !name.IsNull() && k.AsString() == kind {
			return name.AsString()
		}
	}
	s.errorf(kind, "Invalid "+kind+" reference",
		"The argument %q must name a %s block, such as %s.east; here it is a value of type %s.", kind, kind, kind, t.FriendlyName())
	return ""
}

// connectHub returns the client of hub name from conns, or an error
// diagnostic on the step's hub attribute.
func (s *stepConfig) connectHub(ctx context.Context, conns executor.Conns, name string) *hub.Client {
	client, err := connect(ctx, conns, name)
	if err != nil {
		s.errorf("hub", "Cannot connect to the hub", "%s.", err)
		return nil
	}
	return client
}

// connect returns the hub client of name from conns.
func connect(ctx context.Context, conns executor.Conns, name string) (*hub.Client, error) {
	c, err := conns.Connect(ctx, "hub", name)
	if err != nil {
		return nil, err
	}
	client, ok := c.(*hub.Client)
	if !ok {
		panic(fmt.Sprintf("steps: Conns returned %T for a hub, want *hub.Client", c))
	}
	return client, nil
}

// hubRoots returns the stamp's root CAs if conns can tell them.
func hubRoots(ctx context.Context, conns executor.Conns, name string) []*x509.Certificate {
	r, ok := conns.(interface {
		HubRoots(ctx context.Context, name string) ([]*x509.Certificate, error)
	})
	if !ok {
		return nil
	}
	roots, err := r.HubRoots(ctx, name)
	if err != nil {
		return nil
	}
	return roots
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
