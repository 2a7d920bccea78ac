package wsman

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// transport posts envelopes: the sealed winrm.Transporter the package doc
// explains. It keeps up to Config.MaxConnections connections, each with its
// own NTLM security context (Windows binds a context to its connection) and
// each carrying one request at a time; a request takes a slot, then an idle
// connection or a new one.
type transport struct {
	cfg     Config
	url     string
	addr    string
	tlsConf *tls.Config
	log     *slog.Logger

	slots  chan struct{} // one per request in flight
	mu     sync.Mutex
	idle   []*conn            // authenticated, not in use
	all    map[*conn]struct{} // every open connection, for close
	closed atomic.Bool
	trips  atomic.Int64
}

func newTransport(cfg Config) (*transport, error) {
	t := &transport{
		cfg:   cfg,
		addr:  net.JoinHostPort(strings.Trim(cfg.Host, "[]"), strconv.Itoa(cfg.Port)),
		log:   cfg.Logger,
		slots: make(chan struct{}, cfg.MaxConnections),
		all:   map[*conn]struct{}{},
	}
	scheme := "http"
	if cfg.HTTPS {
		scheme = "https"
		t.tlsConf = &tls.Config{
			MinVersion:         tls.VersionTLS12,
			ServerName:         strings.Trim(cfg.Host, "[]"),
			InsecureSkipVerify: cfg.Insecure, //nolint:gosec // only when asked, and warned about
			NextProtos:         []string{"http/1.1"},
		}
		if len(cfg.CAPEM) > 0 {
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(cfg.CAPEM) {
				return nil, errors.New("wsman: CA bundle holds no PEM certificate")
			}
			t.tlsConf.RootCAs = pool
		}
	}
	t.url = scheme + "://" + t.addr + "/wsman"
	return t, nil
}

// post sends one SOAP envelope and returns the reply envelope of a 200. A
// SOAP fault comes back as *FaultError; other failures as the errors in
// errors.go. The Action is only used for logs and errors.
func (t *transport) post(ctx context.Context, action string, envelope []byte) ([]byte, error) {
	if err := t.acquire(ctx); err != nil {
		return nil, err
	}
	defer t.releaseSlot()
	for attempt := 0; ; attempt++ {
		c, fresh, err := t.connection(ctx)
		if err != nil {
			return nil, err
		}
		r, err := t.send(ctx, c, envelope)
		if err != nil {
			t.drop(c)
			return nil, fmt.Errorf("wsman: %s: %w", shortAction(action), err)
		}
		t.log.Debug("wsman round trip", "action", shortAction(action), "status", r.status, "bytes", len(r.body))
		var out []byte
		switch r.status {
		case http.StatusOK:
			out, err = t.open(c, r)
		case http.StatusInternalServerError:
			if out, err = t.open(c, r); err == nil {
				out, err = nil, parseFault(out, action)
			}
		case http.StatusUnauthorized:
			t.drop(c)
			// An authenticated connection whose context expired: the
			// request was refused, not processed, so authenticate again and
			// resend once.
			if !fresh && attempt == 0 && t.cfg.Auth == AuthNTLM {
				continue
			}
			return nil, ErrUnauthorized
		default:
			err = &HTTPError{StatusCode: r.status, Snippet: snippet(r)}
		}
		t.release(c, r.close)
		return out, err
	}
}

// acquire takes a request slot.
func (t *transport) acquire(ctx context.Context) error {
	select {
	case t.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	if t.closed.Load() {
		t.releaseSlot()
		return ErrClosed
	}
	return nil
}

func (t *transport) releaseSlot() { <-t.slots }

// connection returns an idle connection, or dials and authenticates a new
// one; fresh reports a connection authenticated for this request. The
// caller holds a slot and gives the connection back with release or drop.
func (t *transport) connection(ctx context.Context) (*conn, bool, error) {
	t.mu.Lock()
	for len(t.idle) > 0 {
		c := t.idle[len(t.idle)-1]
		t.idle = t.idle[:len(t.idle)-1]
		if !c.isDead() { // the server may have closed it while idle
			t.mu.Unlock()
			return c, false, nil
		}
		delete(t.all, c)
	}
	t.mu.Unlock()
	nc, err := t.dial(ctx)
	if err != nil {
		return nil, false, err
	}
	c := newConn(nc)
	if tc, ok := nc.(*tls.Conn); ok {
		c.cbt = channelBindings(tc.ConnectionState())
	}
	t.mu.Lock()
	t.all[c] = struct{}{}
	t.mu.Unlock()
	if t.closed.Load() { // Close ran while we dialled
		t.drop(c)
		return nil, false, ErrClosed
	}
	if t.cfg.Auth == AuthNTLM {
		if err := t.handshake(ctx, c); err != nil {
			t.drop(c)
			return nil, false, err
		}
	}
	return c, true, nil
}

// release returns a connection to the idle list, or closes it when the
// server asked to.
func (t *transport) release(c *conn, closeIt bool) {
	if closeIt || t.closed.Load() || c.isDead() {
		t.drop(c)
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.idle = append(t.idle, c)
}

func (t *transport) dial(ctx context.Context) (net.Conn, error) {
	dial := t.cfg.Dial
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	nc, err := dial(ctx, "tcp", t.addr)
	if err != nil {
		return nil, &ConnectError{Addr: t.addr, Err: err}
	}
	if t.tlsConf == nil {
		return nc, nil
	}
	tc := tls.Client(nc, t.tlsConf)
	if err := tc.HandshakeContext(ctx); err != nil {
		nc.Close()
		return nil, &ConnectError{Addr: t.addr, Err: err}
	}
	return tc, nil
}

// drop closes a connection and forgets it.
func (t *transport) drop(c *conn) {
	c.close()
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.all, c)
}

// close closes the transport: every connection, so that requests in flight
// fail at once.
func (t *transport) close() {
	t.closed.Store(true)
	t.mu.Lock()
	defer t.mu.Unlock()
	for c := range t.all {
		c.close()
	}
	t.all, t.idle = map[*conn]struct{}{}, nil
}

// newRequest builds a POST to the endpoint.
func (t *transport) newRequest(body []byte, contentType, authorization string) *http.Request {
	req, _ := http.NewRequest(http.MethodPost, t.url, bytes.NewReader(body))
	if body == nil {
		req.Body, req.ContentLength = http.NoBody, 0
	}
	req.Header.Set("User-Agent", "runbook WinRM client")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	return req
}

// send writes the envelope the way the mode requires: sealed (NTLM over
// HTTP), plain on an authenticated connection (NTLM over HTTPS), or with a
// Basic header.
func (t *transport) send(ctx context.Context, c *conn, envelope []byte) (reply, error) {
	t.trips.Add(1)
	switch {
	case t.cfg.Auth == AuthBasic:
		auth := "Basic " + base64.StdEncoding.EncodeToString([]byte(t.cfg.Username+":"+t.cfg.Password))
		return c.roundTrip(ctx, t.newRequest(envelope, soapContentType, auth))
	case t.sealing():
		body, err := seal(c.session, envelope)
		if err != nil {
			return reply{}, err
		}
		return c.roundTrip(ctx, t.newRequest(body, sealedContentType, ""))
	default:
		return c.roundTrip(ctx, t.newRequest(envelope, soapContentType, ""))
	}
}

// sealing reports whether bodies are sealed: NTLM over plain HTTP.
func (t *transport) sealing() bool { return t.cfg.Auth == AuthNTLM && !t.cfg.HTTPS }

// open returns the SOAP envelope of a reply, unsealing it in sealing mode,
// and refuses a reply of the wrong kind.
func (t *transport) open(c *conn, r reply) ([]byte, error) {
	ct := r.header.Get("Content-Type")
	mt, params, _ := mime.ParseMediaType(ct)
	if t.sealing() {
		if mt != "multipart/encrypted" || !strings.EqualFold(params["protocol"], sealProtocol) {
			t.drop(c)
			return nil, ErrUnsealedReply
		}
		env, err := unseal(c.session, r.body)
		if err != nil {
			t.drop(c) // the RC4 streams are out of step now
			return nil, err
		}
		return env, nil
	}
	if mt != "application/soap+xml" {
		return nil, &HTTPError{StatusCode: r.status, Snippet: "unexpected content type " + strconv.Quote(ct)}
	}
	return r.body, nil
}

// snippet returns the start of a text body for an error message.
func snippet(r reply) string {
	if !strings.HasPrefix(r.header.Get("Content-Type"), "text/") {
		return ""
	}
	s := string(r.body)
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return strings.TrimSpace(s)
}

// shortAction returns the last segment of an action URI.
func shortAction(action string) string {
	if action == "" {
		return "post"
	}
	return action[strings.LastIndex(action, "/")+1:]
}
