package pep

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/runbook-dev/runbook/clock"
	"github.com/runbook-dev/runbook/pep/psrp"
	"github.com/runbook-dev/runbook/wsman"
)

// Session is an open PEP session. Invoke runs one command at a time (calls
// are serialised); Close ends the session. Both take a context and respect
// its cancellation.
type Session interface {
	// Invoke runs one command and waits for it to finish. A terminating
	// error of the command is a *CommandError, with the Result gathered so
	// far; other errors are transport or protocol failures.
	Invoke(ctx context.Context, call Call) (Result, error)
	// Close closes the RunspacePool and the connection. It is safe to call
	// more than once.
	Close(ctx context.Context) error
}

var _ Session = (*session)(nil)

// session is a Session on one ERCS VM.
type session struct {
	cfg    Config
	log    *slog.Logger
	addr   string
	client *wsman.Client
	shell  *wsman.Shell
	rpid   psrp.GUID

	// turn serialises Invoke and Close; a channel rather than a mutex so
	// that a caller waiting behind a long command can give up with its
	// context.
	turn   chan struct{}
	out    psrp.Fragmenter
	poolIn psrp.Defragmenter
	key    *psrp.SessionKey
	priv   *rsa.PrivateKey
	state  psrp.RunspacePoolState
	closed bool
	// broken is set when the transport failed in the middle of an
	// exchange: the session's state is unknown and it is not reused.
	broken error

	// Capability and AppData are what the server announced.
	capability psrp.Capability
	appData    *psrp.Object
}

// Dial opens a session on the first of cfg.Addresses that can be reached.
// It moves to the next address when one refuses the connection (or its TLS
// handshake fails) or has reached its session limit; any other failure
// (wrong credentials, a protocol error) ends Dial at once, since another
// ERCS VM would answer the same and repeated bad logons lock accounts out.
func Dial(ctx context.Context, cfg Config) (Session, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, addr := range cfg.Addresses {
		s, err := open(ctx, cfg, addr)
		if err == nil {
			return s, nil
		}
		if ctx.Err() != nil || !failover(err) {
			return nil, err
		}
		cfg.Logger.Warn("pep: endpoint unavailable, trying the next", "address", addr, "error", err.Error())
		errs = append(errs, err)
	}
	return nil, fmt.Errorf("pep: no Privileged Endpoint reachable: %w", errors.Join(errs...))
}

// failover reports whether Dial may try the next address after err.
func failover(err error) bool {
	var ce *wsman.ConnectError
	if errors.As(err, &ce) {
		return true
	}
	var f *wsman.FaultError
	return errors.As(err, &f) && strings.HasSuffix(f.Subcode, "QuotaLimit")
}

// open connects to one address and opens the RunspacePool.
func open(ctx context.Context, cfg Config, addr string) (*session, error) {
	client, err := wsman.New(ctx, wsman.Config{
		Host: addr, Port: cfg.Port, HTTPS: cfg.HTTPS, CAPEM: cfg.CAPEM, Insecure: cfg.Insecure,
		Auth: cfg.Auth, Username: cfg.Username, Password: cfg.Password,
		OperationTimeout: cfg.OperationTimeout, MaxEnvelopeSize: cfg.MaxEnvelopeSize,
		Clock: cfg.Clock, Logger: cfg.Logger, Dial: cfg.Dial,
	})
	if err != nil {
		return nil, err
	}
	rpid, err := psrp.NewGUID(cfg.Rand)
	if err != nil {
		client.Close()
		return nil, err
	}
	s := &session{cfg: cfg, log: cfg.Logger.With("pep", addr), addr: addr, client: client, rpid: rpid, turn: make(chan struct{}, 1)}
	s.out.MaxFragment = min(psrp.DefaultMaxFragment, cfg.maxPayload())
	if err := client.Connect(ctx); err != nil {
		client.Close()
		return nil, err
	}
	if err := s.openPool(ctx); err != nil {
		if s.shell != nil {
			s.deleteShell()
		}
		client.Close()
		return nil, fmt.Errorf("pep: open session on %s: %w", addr, err)
	}
	s.log.Debug("pep: session open", "runspacepool", rpid.String(), "protocol", string(s.capability.ProtocolVersion))
	return s, nil
}

// message encodes one client message for the pool (pid nil) or a pipeline.
func (s *session) message(mt psrp.MessageType, pid psrp.GUID, v any) ([]psrp.Fragment, error) {
	data, err := psrp.Marshal(v, s.key)
	if err != nil {
		return nil, err
	}
	raw, _ := psrp.Message{Destination: psrp.ToServer, Type: mt, RPID: s.rpid, PID: pid, Data: data}.MarshalBinary()
	return s.out.Fragment(raw), nil
}

// openPool creates the shell with SESSION_CAPABILITY and INIT_RUNSPACEPOOL
// in its creationXml (§3.1.5.3.1) and waits for the pool to open.
func (s *session) openPool(ctx context.Context) error {
	capFrags, err := s.message(psrp.MsgSessionCapability, psrp.NilGUID, psrp.DefaultCapability.Object())
	if err != nil {
		return err
	}
	initFrags, err := s.message(psrp.MsgInitRunspacePool, psrp.NilGUID, psrp.InitPool{MinRunspaces: 1, MaxRunspaces: 1}.Object())
	if err != nil {
		return err
	}
	payloads := psrp.Pack(append(capFrags, initFrags...), s.cfg.maxPayload())
	if len(payloads) != 1 {
		return errors.New("pep: the session setup does not fit one envelope")
	}
	s.shell, err = s.client.CreateShell(ctx, wsman.ShellOptions{
		ResourceURI:   wsman.PowerShellResourceURI(s.cfg.ConfigurationName),
		ShellID:       s.rpid.Upper(),
		InputStreams:  []string{"stdin", "pr"},
		OutputStreams: []string{"stdout"},
		Options:       []wsman.Option{{Name: "protocolversion", Value: string(psrp.ProtocolVersion), MustComply: true}},
		CreationXML:   payloads[0],
	})
	if err != nil {
		return err
	}
	s.state = psrp.PoolOpening
	return s.receivePool(ctx, func() bool { return s.state == psrp.PoolOpened })
}

// receivePool reads pool-level output until done reports true, handling
// every pool message on the way.
func (s *session) receivePool(ctx context.Context, done func() bool) error {
	for !done() {
		r, err := s.receive(ctx, "")
		if wsman.IsTimedOut(err) {
			continue
		}
		if err != nil {
			return err
		}
		for _, st := range r.Streams {
			msgs, err := s.poolIn.Feed(st.Data)
			if err != nil {
				return err
			}
			for _, raw := range msgs {
				if err := s.poolMessage(ctx, raw); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// receive long-polls once, bounded by ReceiveTimeout on the clock so that a
// dead connection cannot hang the session.
func (s *session) receive(ctx context.Context, commandID string) (*wsman.Received, error) {
	if s.cfg.ReceiveTimeout < 0 {
		return s.shell.Receive(ctx, commandID, "stdout")
	}
	rctx, cancel := clock.WithTimeout(ctx, s.cfg.Clock, s.cfg.ReceiveTimeout)
	defer cancel()
	r, err := s.shell.Receive(rctx, commandID, "stdout")
	if err != nil && ctx.Err() == nil && rctx.Err() != nil {
		return nil, fmt.Errorf("pep: no reply to Receive within %v", s.cfg.ReceiveTimeout)
	}
	return r, err
}

// poolMessage handles one message from the pool's output.
func (s *session) poolMessage(ctx context.Context, raw []byte) error {
	m, err := psrp.ParseMessage(raw)
	if err != nil {
		return err
	}
	if m.Destination != psrp.ToClient {
		return fmt.Errorf("pep: %v message addressed to the server", m.Type)
	}
	// SESSION_CAPABILITY and ENCRYPTED_SESSION_KEY may come with a zeroed
	// RPID (§3.2.5.4.1, §3.2.5.4.4); the rest must name our pool.
	if !m.RPID.IsNil() && m.RPID != s.rpid {
		return fmt.Errorf("pep: %v message for RunspacePool %s, not ours", m.Type, m.RPID)
	}
	v, err := psrp.Unmarshal(m.Data, s.key)
	if err != nil {
		return fmt.Errorf("pep: %v: %w", m.Type, err)
	}
	switch m.Type {
	case psrp.MsgSessionCapability:
		c, err := psrp.ParseCapability(v)
		if err != nil {
			return err
		}
		if c.ProtocolVersion.Compare("2.1") < 0 {
			return fmt.Errorf("pep: server speaks PowerShell remoting %s; 2.1 or later is needed", c.ProtocolVersion)
		}
		s.capability = c
	case psrp.MsgApplicationPrivateData:
		s.appData, _ = v.(*psrp.Object)
	case psrp.MsgRunspacePoolState:
		st, err := psrp.ParsePoolState(v)
		if err != nil {
			return err
		}
		s.state = st.State
		switch st.State {
		case psrp.PoolBroken, psrp.PoolClosed:
			msg := "the server closed the RunspacePool"
			if st.Error != nil {
				msg = st.Error.Message
			}
			return fmt.Errorf("pep: RunspacePool %v: %s", st.State, msg)
		}
	case psrp.MsgEncryptedSessionKey:
		if s.priv == nil {
			return errors.New("pep: ENCRYPTED_SESSION_KEY without a key exchange")
		}
		blob, err := psrp.ParseKeyBlob(v, "EncryptedSessionKey")
		if err != nil {
			return err
		}
		if s.key, err = psrp.DecryptSessionKey(s.priv, blob); err != nil {
			return err
		}
	case psrp.MsgPublicKeyRequest:
		// The server wants to send us a SecureString: start the exchange.
		return s.sendPublicKey(ctx)
	default:
		s.log.Debug("pep: ignoring pool message", "type", m.Type.String())
	}
	return nil
}

var (
	keyOnce sync.Once
	keyPair *rsa.PrivateKey
	keyErr  error
)

// processKeyPair returns the RSA key pair this process offers in every key
// exchange, made on first use. It only wraps the AES session key each
// server draws afresh per session, and a 2048-bit key can take a second to
// generate, so one per process rather than one per session.
func processKeyPair() (*rsa.PrivateKey, error) {
	keyOnce.Do(func() { keyPair, keyErr = psrp.GenerateKeyPair(nil) })
	return keyPair, keyErr
}

// sendPublicKey sends PUBLIC_KEY (§3.1.5.4.3).
func (s *session) sendPublicKey(ctx context.Context) error {
	if s.priv == nil {
		priv, err := processKeyPair()
		if err != nil {
			return err
		}
		s.priv = priv
	}
	blob, err := psrp.MarshalPublicKeyBlob(&s.priv.PublicKey)
	if err != nil {
		return err
	}
	frags, err := s.message(psrp.MsgPublicKey, psrp.NilGUID, psrp.PublicKeyObject(blob))
	if err != nil {
		return err
	}
	for _, p := range psrp.Pack(frags, s.cfg.maxPayload()) {
		if err := s.shell.Send(ctx, "", "stdin", p, false); err != nil {
			return err
		}
	}
	return nil
}

// exchangeKeys obtains the session key before the first SecureString.
func (s *session) exchangeKeys(ctx context.Context) error {
	if err := s.sendPublicKey(ctx); err != nil {
		return err
	}
	return s.receivePool(ctx, func() bool { return s.key != nil })
}

// Close deletes the shell (which closes the pool and leaves the transcript
// on the PEP) and the connection.
func (s *session) Close(ctx context.Context) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	var err error
	if s.broken == nil {
		err = s.shell.Delete(ctx)
	}
	s.client.Close()
	if err != nil {
		return fmt.Errorf("pep: close session on %s: %w", s.addr, err)
	}
	return nil
}

// lock waits for the session's turn or the end of ctx.
func (s *session) lock(ctx context.Context) error {
	select {
	case s.turn <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("pep: waiting for the session: %w", ctx.Err())
	}
}

func (s *session) unlock() { <-s.turn }

// deleteShell deletes the shell after a failure, briefly and ignoring
// errors: the caller is already reporting one.
func (s *session) deleteShell() {
	ctx, cancel := clock.WithTimeout(context.Background(), s.cfg.Clock, 10*time.Second)
	defer cancel()
	_ = s.shell.Delete(ctx)
}
