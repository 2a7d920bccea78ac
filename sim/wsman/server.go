package wsman

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/runbook-dev/runbook/clock"
)

// Config configures a Server. The zero value serves plain HTTP on a random
// loopback port without authentication, on the real clock.
type Config struct {
	// Addr is the listen address; default "127.0.0.1:0". The server is
	// meant for loopback only.
	Addr string
	// TLS serves HTTPS with a certificate for 127.0.0.1, ::1 and localhost,
	// issued by a CA generated at start (Server.CACertPEM).
	TLS bool
	// Clock times long-polls, slow replies and the cmd shell; default
	// clock.Real.
	Clock clock.Clock
	// Auth is the set of accepted schemes; zero accepts anyone.
	Auth Auth
	// Username is the one account, "DOMAIN\user" (e.g.
	// `AZURESTACK\CloudAdmin`) or a bare user; clients may name it either
	// way. Password is its password.
	Username, Password string
	// Sealing is the NTLM message-encryption policy (plain HTTP only; over
	// TLS nothing needs sealing).
	Sealing Sealing
	// MaxEnvelopeSize is the largest request envelope accepted (after
	// unsealing); larger ones get a w:EncodingLimit fault. Default 512000,
	// Windows' MaxEnvelopeSizekb=500.
	MaxEnvelopeSize int
	// MaxShells limits the number of open shells; 0 means no limit.
	MaxShells int
	// ReceiveCap caps how long a Receive long-polls, whatever the client's
	// OperationTimeout; default 60s.
	ReceiveCap time.Duration
	// NoCmdShell leaves CmdResourceURI unserved.
	NoCmdShell bool
	// ServerShellIDs ignores a client's ShellId and chooses every shell's
	// id, as a WinRM 2.0 server does; a PowerShell client must then keep
	// its RunspacePool id apart from the ShellId.
	ServerShellIDs bool
	// Machine is the computer name put in faults; default "ERCS01".
	Machine string
}

// Server is a WS-Management server on loopback. Create it with NewServer;
// Close it when done. All methods are safe for concurrent use.
type Server struct {
	cfg   Config
	acct  account
	clk   clock.Clock
	ln    net.Listener
	http  *http.Server
	url   string
	caPEM []byte
	cbt   []byte // MD5 of the TLS channel bindings (nil without TLS)

	ctx    context.Context // ends at Close; parent of handler contexts
	cancel context.CancelFunc

	mu       sync.Mutex
	handlers map[string]ShellHandler // by lower-cased ResourceURI
	shells   map[string]*shellEntry  // by upper-cased ShellId
	ids      int                     // deterministic id counter
	conns    int                     // connections since ResetLog
	connSeq  int                     // connection numbering, never reset
	log      []Record
	trips    int
	inject   []*Injection
	idle     map[net.Conn]bool // connections waiting for a request
}

// NewServer starts a server. It listens before returning, so its URL is
// usable at once.
func NewServer(cfg Config) (*Server, error) {
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real
	}
	if cfg.ReceiveCap <= 0 {
		cfg.ReceiveCap = 60 * time.Second
	}
	if cfg.MaxEnvelopeSize <= 0 {
		cfg.MaxEnvelopeSize = 512000
	}
	if cfg.Machine == "" {
		cfg.Machine = "ERCS01"
	}
	if cfg.Auth != 0 && cfg.Username == "" {
		return nil, errors.New("sim/wsman: Auth set without Username")
	}
	s := &Server{
		cfg:      cfg,
		acct:     parseAccount(cfg.Username, cfg.Password),
		clk:      cfg.Clock,
		handlers: map[string]ShellHandler{},
		shells:   map[string]*shellEntry{},
		idle:     map[net.Conn]bool{},
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if !cfg.NoCmdShell {
		s.Handle(CmdResourceURI, NewCmdShell(cfg.Clock))
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("sim/wsman: listen: %w", err)
	}
	scheme := "http"
	if cfg.TLS {
		cert, caPEM, err := newCertificate()
		if err != nil {
			ln.Close()
			return nil, err
		}
		s.caPEM = caPEM
		s.cbt = channelBindingsHash(cert.Certificate[0])
		// HTTP/1.1 only: connection-bound NTLM and Hijack need it.
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"http/1.1"}})
		scheme = "https"
	}
	s.ln = ln
	s.url = scheme + "://" + ln.Addr().String() + "/wsman"
	s.http = &http.Server{
		Handler:     s,
		ConnContext: s.connContext,
		ConnState:   s.connState,
		// Every request context ends at Close, so long-polls return.
		BaseContext: func(net.Listener) context.Context { return s.ctx },
		// Handshake failures of untrusting clients are expected in tests.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	go func() { _ = s.http.Serve(ln) }()
	return s, nil
}

type connKey struct{}

func (s *Server) connContext(ctx context.Context, c net.Conn) context.Context {
	s.mu.Lock()
	s.conns++
	s.connSeq++
	id := s.connSeq
	s.mu.Unlock()
	_, isTLS := c.(*tls.Conn)
	return context.WithValue(ctx, connKey{}, &connState{id: id, tls: isTLS})
}

func (s *Server) connState(c net.Conn, st http.ConnState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st == http.StateIdle {
		s.idle[c] = true
	} else {
		delete(s.idle, c)
	}
}

// CloseIdleConnections closes the connections that are waiting for a
// request, as Windows does after its idle timeout, and returns how many it
// closed. A client must notice and reconnect (and authenticate again).
func (s *Server) CloseIdleConnections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.idle)
	for c := range s.idle {
		c.Close()
		delete(s.idle, c)
	}
	return n
}

// Handle serves the shells of resourceURI (matched case-insensitively) with
// h, replacing any earlier handler for it. It may be called at any time.
func (s *Server) Handle(resourceURI string, h ShellHandler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handlers[strings.ToLower(resourceURI)] = h
}

// URL returns the endpoint, e.g. "http://127.0.0.1:41234/wsman".
func (s *Server) URL() string { return s.url }

// Host returns the listening IP address.
func (s *Server) Host() string {
	h, _, _ := net.SplitHostPort(s.ln.Addr().String())
	return h
}

// Port returns the listening port.
func (s *Server) Port() int {
	_, p, _ := net.SplitHostPort(s.ln.Addr().String())
	n, _ := strconv.Atoi(p)
	return n
}

// CACertPEM returns the PEM of the CA that issued the server certificate
// (nil without TLS).
func (s *Server) CACertPEM() []byte { return append([]byte(nil), s.caPEM...) }

// Close stops the server, closes all connections, ends every handler
// context and deletes the shells still open (their handlers get Delete), as
// a restarting WinRM service would.
func (s *Server) Close() error {
	s.cancel()
	err := s.http.Close()
	s.mu.Lock()
	shells := s.shells
	s.shells = map[string]*shellEntry{}
	s.mu.Unlock()
	for _, e := range shells {
		if e.ready {
			_ = e.h.Delete(context.Background(), &DeleteRequest{Header: Header{Action: ActionDelete, ResourceURI: e.uri, ShellID: e.id, User: e.owner}})
		}
	}
	return err
}

// Shells returns the number of open shells.
func (s *Server) Shells() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.shells)
}

// nextID returns a deterministic GUID-shaped id; kind distinguishes shells,
// commands and messages in logs.
func (s *Server) nextID(kind uint16) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ids++
	return fmt.Sprintf("%08X-%04X-4000-8000-%012X", 0x5e5e0000, kind, s.ids)
}
