package steps

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/runbook-dev/runbook/internal/boundedread"

	"github.com/runbook-dev/runbook/clock"
	"github.com/runbook-dev/runbook/hub"
	"github.com/runbook-dev/runbook/lang"
	"github.com/runbook-dev/runbook/pep"
)

// PEPOptions configure a PEPDialer.
type PEPOptions struct {
	// Clock times the sessions' polls and waits; it should be the
	// executor's clock. Default clock.Real.
	Clock clock.Clock
	// Logger receives the client's debug lines (command and parameter
	// names, never values) and warnings; nil logs nothing.
	Logger *slog.Logger
	// Override, when set, may change the configuration built from pep
	// block name before a session is opened: addresses, port, transport,
	// CA, credentials. -simulate uses it (see PEPTarget) to point every
	// pep block at the simulated PEP whatever the runbook says.
	Override func(name string, cfg *pep.Config)
}

// PEPDialer opens sessions on the Privileged Endpoints of a runbook's pep
// blocks. Unlike hub clients, PEP sessions are not cached: the PEP allows
// only a few concurrent sessions (and transcribes each), so every step
// call opens its own and closes it when done. It is safe for concurrent
// use.
type PEPDialer struct {
	rb   *lang.Runbook
	opts PEPOptions
}

var _ PEPSource = (*PEPDialer)(nil)

// NewPEPDialer returns a dialer for the pep blocks of rb.
func NewPEPDialer(rb *lang.Runbook, opts PEPOptions) *PEPDialer {
	if opts.Clock == nil {
		opts.Clock = clock.Real
	}
	return &PEPDialer{rb: rb, opts: opts}
}

// PEP opens a session on the PEP of pep block name (see Dial); the caller
// must Close it.
func (d *PEPDialer) PEP(ctx context.Context, name string) (pep.Session, error) {
	return d.Dial(ctx, name)
}

// Dial opens a session on the PEP of pep block name, trying its addresses
// in order (see pep.Dial). The caller must Close the session.
func (d *PEPDialer) Dial(ctx context.Context, name string) (pep.Session, error) {
	cfg, err := d.Config(name)
	if err != nil {
		return nil, err
	}
	s, err := pep.Dial(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pep %s: %w", name, err)
	}
	return withClose(s, d.rb.PEPs[name]), nil
}

// Config builds the client configuration of pep block name, with the
// Override applied. The password is revealed here, at the hand-off to
// pep.Config, and nowhere else (the transcripts share's, in Dial). The CA file (relative to the runbook
// directory) is read only when the final configuration uses HTTPS with
// verification and no CA has been given otherwise, so that -simulate does
// not need the real stamp's CA file.
func (d *PEPDialer) Config(name string) (pep.Config, error) {
	b, ok := d.rb.PEPs[name]
	if !ok {
		return pep.Config{}, fmt.Errorf("pep %s: there is no pep block of that name", name)
	}
	auth, err := pepAuth(b.Auth)
	if err != nil {
		return pep.Config{}, fmt.Errorf("pep %s: %w", name, err)
	}
	cfg := pep.Config{
		Addresses:         append([]string(nil), b.Addresses...),
		Port:              b.Port,
		HTTPS:             b.HTTPS,
		Insecure:          b.Insecure,
		Auth:              auth,
		Username:          b.Username,
		Password:          b.Password.Reveal(),
		ConfigurationName: b.ConfigurationName,
		Clock:             d.opts.Clock,
		Logger:            d.opts.Logger,
	}
	if d.opts.Override != nil {
		d.opts.Override(name, &cfg)
	}
	if cfg.HTTPS && !cfg.Insecure && len(cfg.CAPEM) == 0 && b.CAFile != "" {
		path := runbookPath(d.rb, b.CAFile)
		if cfg.CAPEM, err = boundedread.File(path, boundedread.Cert); err != nil {
			return pep.Config{}, fmt.Errorf("pep %s: ca_file: %w", name, err)
		}
	}
	return cfg, nil
}

// pepAuth maps the pep block's auth to the transport's mode.
func pepAuth(auth string) (pep.Auth, error) {
	switch strings.ToLower(auth) {
	case "", "negotiate":
		return pep.AuthNTLM, nil
	case "basic":
		return pep.AuthBasic, nil
	}
	return 0, fmt.Errorf("unknown auth %q (want negotiate or basic)", auth)
}

// PEPTarget is where -simulate sends every pep block: the simulated ERCS
// VMs on loopback.
type PEPTarget struct {
	// Addresses and Port replace the block's.
	Addresses []string
	Port      int
	// HTTPS and CAPEM say how to reach the simulator; Insecure is always
	// turned off.
	HTTPS bool
	CAPEM []byte
	// Auth replaces the block's mode: pep.AuthBasic or pep.AuthNTLM
	// (sealed over HTTP).
	Auth pep.Auth
	// Username and Password, when set, replace the block's credentials;
	// left empty, the runbook's own credentials are sent, so the simulator
	// can judge them.
	Username, Password string
}

// Override returns a PEPOptions.Override that points every pep block at t.
func (t PEPTarget) Override() func(name string, cfg *pep.Config) {
	return func(_ string, cfg *pep.Config) {
		cfg.Addresses = append([]string(nil), t.Addresses...)
		cfg.Port, cfg.HTTPS, cfg.CAPEM, cfg.Insecure, cfg.Auth = t.Port, t.HTTPS, t.CAPEM, false, t.Auth
		if t.Username != "" {
			cfg.Username = t.Username
		}
		if t.Password != "" {
			cfg.Password = t.Password
		}
	}
}

// printfLogger adapts a hub.Logger (what ConnOptions carries) to the
// slog.Logger the PEP client takes: one line per record, without the
// wall-clock time attribute. nil gives nil (the client then discards).
// PrintfLogger adapts a hub.Logger to the *slog.Logger the PEP client
// takes (see printfLogger).
func PrintfLogger(logf hub.Logger) *slog.Logger { return printfLogger(logf) }

func printfLogger(logf hub.Logger) *slog.Logger {
	if logf == nil {
		return nil
	}
	return slog.New(slog.NewTextHandler(printfWriter(logf), &slog.HandlerOptions{
		Level: slog.LevelDebug,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
}

// printfWriter passes each write (one slog record) to a printf logger.
type printfWriter hub.Logger

var _ io.Writer = printfWriter(nil)

func (w printfWriter) Write(p []byte) (int, error) {
	w("%s", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
