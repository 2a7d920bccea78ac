package hub

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/runbook-dev/runbook/clock"
	"github.com/runbook-dev/runbook/sim/certs"
)

// Server is a simulated Azure Stack Hub stamp: admin ARM and identity
// provider. It is an http.Handler and can also listen by itself (Start). It
// is safe for concurrent use.
type Server struct {
	opts  Options
	clock clock.Clock
	ca    *certs.CA
	idp   *identity

	mu      sync.Mutex // guards everything below up to callsMu
	st      *State
	faults  []*activeFault
	queued  []Fault // state faults waiting for the next rotation
	saveErr error

	// callsMu guards the request log apart from the state: a call is
	// logged while its handler may still hold mu.
	callsMu sync.Mutex
	calls   []Call
	reqSeq  int

	hs  *http.Server
	url string
}

// Open builds a stamp from opts: it fills in defaults, validates the options
// and scenario, and loads or creates the state file if opts.StatePath is
// set. It does not listen; call Start, or serve the Server as a handler.
func Open(opts Options) (*Server, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	idp, err := newIdentity()
	if err != nil {
		return nil, err
	}
	s := &Server{opts: o, clock: o.Clock, ca: o.CA, idp: idp}
	if o.StatePath != "" {
		if s.st, _, err = loadState(o.StatePath); err != nil {
			return nil, err
		}
	}
	if s.st == nil {
		s.st = newState(o.Scenario, s.clock.Now())
	}
	s.st.settle(s.clock.Now())
	for _, f := range o.Faults {
		s.injectLocked(f)
	}
	if err := s.saveLocked(); err != nil {
		return nil, err
	}
	return s, nil
}

// New is Open for options known to be valid, as in tests: it panics if Open
// fails.
func New(opts Options) *Server {
	s, err := Open(opts)
	if err != nil {
		panic(err)
	}
	return s
}

// Start listens on Options.Addr (default 127.0.0.1 with a free port) and
// serves HTTPS with a certificate from the stamp's CA covering 127.0.0.1,
// localhost and *.<region>.<fqdn>.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hs != nil {
		return errors.New("sim/hub: server already started")
	}
	// The TLS certificate must be valid on the wall clock, which the
	// client's TLS stack uses, whatever the stamp clock says.
	cert, err := s.ca.IssueServer(certs.DefaultServerHosts(s.opts.Region, s.opts.ExternalFQDN),
		time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2099, 12, 31, 0, 0, 0, 0, time.UTC))
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", s.opts.Addr)
	if err != nil {
		return fmt.Errorf("sim/hub: listen: %w", err)
	}
	s.hs = &http.Server{
		Handler:   s,
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		// Handshake failures of clients that do not trust the CA are
		// expected in tests; keep them off stderr.
		ErrorLog: log.New(io.Discard, "", 0),
		// A socket-level guard against stuck clients; it cannot run on
		// the stamp clock, which may be fake.
		ReadHeaderTimeout: time.Minute,
	}
	s.url = "https://" + ln.Addr().String()
	go func() { _ = s.hs.ServeTLS(ln, "", "") }()
	return nil
}

// URL returns https://127.0.0.1:<port> once started, else "". It is the
// admin ARM endpoint, the metadata endpoint and the login host at once.
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.url
}

// Close stops listening and closes open connections. State is already
// saved after every change, so nothing is lost.
func (s *Server) Close() error {
	s.mu.Lock()
	hs := s.hs
	s.mu.Unlock()
	if hs == nil {
		return nil
	}
	return hs.Close()
}

// Handler returns the stamp as an http.Handler, for embedding in another
// server (it is the Server itself). The handler builds absolute URLs from
// the request's Host and assumes HTTPS.
func (s *Server) Handler() http.Handler { return s }

// Client returns an HTTP client that trusts the stamp's CA.
func (s *Server) Client() *http.Client {
	return &http.Client{Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: s.ca.Pool(), MinVersion: tls.VersionTLS12},
		ForceAttemptHTTP2: true,
	}}
}

// CA returns the stamp's root CA.
func (s *Server) CA() *certs.CA { return s.ca }

// Region returns the stamp's region name, e.g. "local".
func (s *Server) Region() string { return s.opts.Region }

// ExternalFQDN returns the stamp's external domain, e.g.
// "azurestack.external".
func (s *Server) ExternalFQDN() string { return s.opts.ExternalFQDN }

// Tenant returns the tenant a credential must use: "adfs" for AD FS, the
// tenant GUID for Entra.
func (s *Server) Tenant() string {
	if s.opts.Identity == ADFS {
		return "adfs"
	}
	return s.opts.TenantID
}

// Audience returns the admin ARM token audience (scope = Audience +
// "/.default").
func (s *Server) Audience() string { return s.opts.Audience }

// LoginEndpoint returns the login endpoint the metadata advertises when the
// stamp is reached at URL(): URL()+"/adfs/" for AD FS, URL()+"/" for Entra.
// It is the AuthorityHost for azidentity.
func (s *Server) LoginEndpoint() string { return loginEndpoint(s.URL(), s.opts.Identity) }

// SubscriptionID returns the Default Provider Subscription's id.
func (s *Server) SubscriptionID() string { return s.defaultSubscription().SubscriptionID }

// State returns a deep copy of the stamp's state as of the clock's now.
func (s *Server) State() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settleLocked()
	st := s.st.clone()
	st.TokensIssued = s.idp.issued()
	return *st
}

// ProductPFX issues a PFX for the product's certificate host from the
// stamp's CA, valid around the clock's now, with the given flaw: the
// certificate an operator would upload (certs.FlawNone), or a bad one.
func (s *Server) ProductPFX(productID string, flaw certs.Flaw, password string) ([]byte, error) {
	s.mu.Lock()
	p := s.st.product(productID)
	var host string
	if p != nil {
		host = p.host(s.opts.Region, s.opts.ExternalFQDN)
	}
	s.mu.Unlock()
	if p == nil {
		return nil, fmt.Errorf("sim/hub: no product %q", productID)
	}
	return s.ca.IssuePFX(certs.PFXOptions{Hosts: []string{host}, Now: s.clock.Now(), Password: password, Flaw: flaw})
}

// settleLocked advances running operations to the clock's now and saves
// the state if an operation ended.
func (s *Server) settleLocked() {
	if s.st.settle(s.clock.Now()) {
		s.saveErr = s.saveLocked()
	}
}

// ServeHTTP serves one request: it logs it, applies injected faults, and
// routes it to the identity provider or to ARM.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.callsMu.Lock()
	s.reqSeq++
	call := Call{Seq: s.reqSeq, Time: s.clock.Now(), Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery}
	s.callsMu.Unlock()

	reqID := guidFor("request", s.opts.Region, s.opts.ExternalFQDN, fmt.Sprint(call.Seq))
	w.Header().Set("x-ms-request-id", reqID)
	corr := r.Header.Get("x-ms-correlation-request-id")
	if corr == "" {
		corr = reqID
	}
	w.Header().Set("x-ms-correlation-request-id", corr)

	// The call is logged when its status is written, before any byte
	// reaches the client, so a client that got a response finds it in
	// Calls; requests that end without a response are logged on return.
	rec := &statusRecorder{ResponseWriter: w}
	rec.onStatus = func(status int) {
		call.Status = status
		s.record(call)
	}
	defer rec.finish()
	f := s.matchFault(r)
	if f != nil {
		call.Fault = f.Kind.String()
		switch f.Kind {
		case FaultConnectionReset:
			rec.finish()
			resetConnection(w)
			return
		case FaultDropReply:
			// Served in full, logged with the status it would have had.
			d := &discardWriter{header: http.Header{}}
			s.route(d, r)
			call.Status = d.status
			rec.reported = true
			s.record(call)
			resetConnection(w)
			return
		}
		if s.applyFault(rec, r, f) {
			return
		}
	}
	defer holdClock(s.clock)()
	s.route(rec, r)
}

// holdClock tells a warp clock (the simulated stamp's) that a request is
// being served, so that it does not skip ahead meanwhile: a client's
// timeouts then measure the request's real time.
func holdClock(c clock.Clock) (release func()) {
	if h, ok := c.(interface{ Hold() func() }); ok {
		return h.Hold()
	}
	return func() {}
}

// route dispatches by path. Path segments match case-insensitively, as ARM
// does.
func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	segs := strings.FieldsFunc(r.URL.Path, func(c rune) bool { return c == '/' })
	low := make([]string, len(segs))
	for i, p := range segs {
		low[i] = strings.ToLower(p)
	}
	switch {
	case len(low) == 2 && low[0] == "metadata" && low[1] == "endpoints":
		s.handleMetadata(w, r)
	case len(low) > 0 && low[0] == "subscriptions":
		if !s.authorize(w, r) {
			return
		}
		s.routeSubscriptions(w, r, segs, low)
	case s.serveIdentity(w, r, segs, low):
	default:
		writeARMError(w, http.StatusNotFound, "NotFound", "The requested path '%s' was not found.", r.URL.Path)
	}
}

// allowMethod writes ARM's 405 and returns false unless r uses method.
func allowMethod(w http.ResponseWriter, r *http.Request, method string) bool {
	if r.Method == method {
		return true
	}
	w.Header().Set("Allow", method)
	writeARMError(w, http.StatusMethodNotAllowed, "MethodNotAllowed",
		"The requested resource does not support http method '%s'.", r.Method)
	return false
}

// statusRecorder remembers the status written through it and reports it
// once, before the response is written.
type statusRecorder struct {
	http.ResponseWriter
	status   int
	onStatus func(int)
	reported bool
}

func (r *statusRecorder) report() {
	if !r.reported {
		r.reported = true
		r.onStatus(r.status)
	}
}

// finish reports a request that ended without a response (status 0 or
// what applyFault set).
func (r *statusRecorder) finish() { r.report() }

// WriteHeader records and reports the first status.
func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
		r.report()
	}
	r.ResponseWriter.WriteHeader(code)
}

// Write records and reports an implicit 200.
func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
		r.report()
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
