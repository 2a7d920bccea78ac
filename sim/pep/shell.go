package pep

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/runbook-dev/runbook/pep/psrp"
	"github.com/runbook-dev/runbook/sim/wsman"
)

var _ wsman.ShellHandler = (*PEP)(nil)

// session is one RunspacePool: a WS-Management shell of the PEP.
type session struct {
	p       *PEP
	id      string    // ShellId
	rpid    psrp.GUID // the RunspacePool id the creationXml's first message names
	user    string
	maxFrag int

	mu      sync.Mutex
	changed chan struct{} // closed and replaced when output or state changes
	in      psrp.Defragmenter
	frag    psrp.Fragmenter
	key     *psrp.SessionKey
	state   psrp.RunspacePoolState
	poolOut [][]byte // encoded fragments for the pool-level Receive
	pipes   map[string]*pipeline
}

// pipeline is one command (CREATE_PIPELINE) in a session.
type pipeline struct {
	id      string // CommandId as sent
	pid     psrp.GUID
	in      psrp.Defragmenter
	out     [][]byte
	started bool
	done    bool // the final PIPELINE_STATE is queued
	cancel  context.CancelFunc
}

// notify wakes Receives; s.mu must be held.
func (s *session) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// encode fragments one message for the client; s.mu must be held.
func (s *session) encode(mt psrp.MessageType, pid psrp.GUID, v any) ([][]byte, error) {
	data, err := psrp.Marshal(v, s.key)
	if err != nil {
		return nil, err
	}
	rpid := s.rpid
	if mt == psrp.MsgSessionCapability || mt == psrp.MsgEncryptedSessionKey {
		// §3.2.5.4.1 and §3.2.5.4.4: the server sends these with a zeroed
		// RPID; Windows does so for SESSION_CAPABILITY.
		rpid = psrp.NilGUID
	}
	// Windows writes a UTF-8 byte-order mark in front of every message's
	// CLIXML.
	data = append([]byte{0xEF, 0xBB, 0xBF}, data...)
	msg, _ := psrp.Message{Destination: psrp.ToClient, Type: mt, RPID: rpid, PID: pid, Data: data}.MarshalBinary()
	var out [][]byte
	for _, f := range s.frag.Fragment(msg) {
		out = append(out, f.AppendBinary(nil))
	}
	return out, nil
}

// queuePool queues a pool-level message; s.mu must be held.
func (s *session) queuePool(mt psrp.MessageType, v any) error {
	frags, err := s.encode(mt, psrp.NilGUID, v)
	if err != nil {
		return err
	}
	s.poolOut = append(s.poolOut, frags...)
	s.notify()
	return nil
}

func invalid(format string, args ...any) *wsman.Fault {
	return wsman.InvalidMessageFault(fmt.Sprintf(format, args...))
}

func (p *PEP) session(shellID string) (*session, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.sessions[strings.ToUpper(shellID)]
	if s == nil {
		return nil, wsman.InvalidSelectorsFault("No PowerShell session with id " + shellID + ".")
	}
	return s, nil
}

// Create opens a RunspacePool from the creationXml's SESSION_CAPABILITY and
// INIT_RUNSPACEPOOL. The pool's id is the RPID of those messages, as on
// Windows: PowerShell sends it as the ShellId too, but other clients
// (pypsrp) and servers that choose the ShellId themselves need not.
func (p *PEP) Create(ctx context.Context, req *wsman.CreateRequest) error {
	p.ext.resume.Do(p.continueRotations)
	env := req.MaxEnvelopeSize
	if env <= 0 {
		env = 512000
	}
	s := &session{
		p: p, id: req.ShellID, user: req.User,
		maxFrag: min(psrp.DefaultMaxFragment, (env-4096)*3/4),
		changed: make(chan struct{}), pipes: map[string]*pipeline{},
		state: psrp.PoolBeforeOpen,
	}
	s.frag.MaxFragment = s.maxFrag
	p.mu.Lock()
	if len(p.sessions) >= p.cfg.MaxSessions {
		p.mu.Unlock()
		return wsman.QuotaLimitFault(p.cfg.MaxSessions)
	}
	p.sessions[strings.ToUpper(req.ShellID)] = s
	p.mu.Unlock()
	if err := s.feedPool(req.CreationXML); err != nil {
		p.mu.Lock()
		delete(p.sessions, strings.ToUpper(req.ShellID))
		p.mu.Unlock()
		return err
	}
	return nil
}

// feedPool handles pool-level fragments from creationXml or a Send.
func (s *session) feedPool(payload []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	msgs, err := s.in.Feed(payload)
	if err != nil {
		return invalid("Bad PowerShell remoting data: %v", err)
	}
	for _, raw := range msgs {
		m, err := psrp.ParseMessage(raw)
		if err != nil {
			return invalid("Bad PowerShell remoting message: %v", err)
		}
		if s.rpid.IsNil() && s.state == psrp.PoolBeforeOpen {
			s.rpid = m.RPID
		}
		if m.Destination != psrp.ToServer || m.RPID.IsNil() || m.RPID != s.rpid {
			return invalid("The %v message is not addressed to RunspacePool %s.", m.Type, s.rpid)
		}
		if err := s.poolMessage(m); err != nil {
			return err
		}
	}
	return nil
}

// poolMessage handles one pool-level message; s.mu is held.
func (s *session) poolMessage(m psrp.Message) error {
	v, err := psrp.Unmarshal(m.Data, s.key)
	if err != nil {
		return invalid("Bad %v data: %v", m.Type, err)
	}
	switch m.Type {
	case psrp.MsgSessionCapability:
		c, err := psrp.ParseCapability(v)
		if err != nil {
			return invalid("%v", err)
		}
		if c.ProtocolVersion.Compare("2.1") < 0 {
			return invalid("PowerShell remoting protocol %s is too old for this endpoint.", c.ProtocolVersion)
		}
		s.state = psrp.PoolNegotiationSucceeded
		return s.queuePool(psrp.MsgSessionCapability, psrp.Capability{ProtocolVersion: psrp.ProtocolVersion, PSVersion: "2.0", SerializationVersion: "1.1.0.1"}.Object())
	case psrp.MsgInitRunspacePool:
		if s.state != psrp.PoolNegotiationSucceeded {
			return invalid("INIT_RUNSPACEPOOL before SESSION_CAPABILITY.")
		}
		if _, err := psrp.ParseInitPool(v); err != nil {
			return invalid("%v", err)
		}
		if err := s.queuePool(psrp.MsgApplicationPrivateData, applicationPrivateData()); err != nil {
			return err
		}
		s.state = psrp.PoolOpened
		return s.queuePool(psrp.MsgRunspacePoolState, psrp.PoolState{State: psrp.PoolOpened}.Object())
	case psrp.MsgPublicKey:
		if s.state != psrp.PoolOpened {
			return invalid("PUBLIC_KEY before the RunspacePool is open.")
		}
		blob, err := psrp.ParseKeyBlob(v, "PublicKey")
		if err != nil {
			return invalid("%v", err)
		}
		pub, err := psrp.ParsePublicKeyBlob(blob)
		if err != nil {
			return invalid("%v", err)
		}
		if s.key == nil {
			if s.key, err = psrp.NewSessionKey(s.p.cfg.Rand); err != nil {
				return err
			}
		}
		esk, err := s.key.EncryptTo(s.p.cfg.Rand, pub)
		if err != nil {
			return err
		}
		return s.queuePool(psrp.MsgEncryptedSessionKey, psrp.EncryptedSessionKeyObject(esk))
	}
	// Other pool messages (SET_MAX_RUNSPACES, GET_COMMAND_METADATA, host
	// responses) are outside what a PEP client needs.
	return invalid("The %v message is not supported by this endpoint.", m.Type)
}

// applicationPrivateData is the APPLICATION_PRIVATE_DATA of a Windows
// PowerShell 5.1 server: its $PSVersionTable.
func applicationPrivateData() *psrp.Object {
	dict := []string{psrp.TypePrimitiveDictionary, "System.Collections.Hashtable", "System.Object"}
	table := &psrp.Object{TypeNames: dict, Dict: []psrp.DictEntry{
		{Key: "PSVersion", Value: psrp.Version("5.1.17763.6414")},
		{Key: "PSEdition", Value: "Desktop"},
		{Key: "PSRemotingProtocolVersion", Value: psrp.ProtocolVersion},
		{Key: "SerializationVersion", Value: psrp.Version("1.1.0.1")},
		{Key: "WSManStackVersion", Value: psrp.Version("3.0")},
		{Key: "BuildVersion", Value: psrp.Version("10.0.17763.6414")},
		{Key: "CLRVersion", Value: psrp.Version("4.0.30319.42000")},
	}}
	return &psrp.Object{Members: []psrp.Property{{Name: "ApplicationPrivateData", Value: &psrp.Object{
		TypeNames: dict, Dict: []psrp.DictEntry{{Key: "PSVersionTable", Value: table}},
	}}}}
}

// Command starts a pipeline; its CREATE_PIPELINE arrives in the arguments
// and, when larger than one envelope, in Sends that follow.
func (p *PEP) Command(ctx context.Context, req *wsman.CommandRequest) error {
	s, err := p.session(req.ShellID)
	if err != nil {
		return err
	}
	args, err := req.ArgumentData()
	if err != nil {
		return invalid("The command arguments are not base64.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != psrp.PoolOpened {
		return invalid("The RunspacePool is %v, not Opened.", s.state)
	}
	pl := &pipeline{id: req.CommandID}
	s.pipes[strings.ToUpper(req.CommandID)] = pl
	for _, a := range args {
		if err := s.feedPipeline(pl, a); err != nil {
			delete(s.pipes, strings.ToUpper(req.CommandID))
			return err
		}
	}
	return nil
}

// feedPipeline handles fragments for a pipeline; s.mu is held.
func (s *session) feedPipeline(pl *pipeline, payload []byte) error {
	msgs, err := pl.in.Feed(payload)
	if err != nil {
		return invalid("Bad PowerShell remoting data: %v", err)
	}
	for _, raw := range msgs {
		m, err := psrp.ParseMessage(raw)
		if err != nil {
			return invalid("Bad PowerShell remoting message: %v", err)
		}
		if pl.pid.IsNil() && !pl.started {
			// The pipeline's id is the PID of its CREATE_PIPELINE; PowerShell
			// also sends it as the CommandId, which Windows does not require.
			pl.pid = m.PID
		}
		if m.RPID != s.rpid || m.PID.IsNil() || m.PID != pl.pid {
			return invalid("The %v message is not addressed to pipeline %s.", m.Type, pl.pid)
		}
		switch m.Type {
		case psrp.MsgCreatePipeline:
			if pl.started {
				return invalid("CREATE_PIPELINE sent twice.")
			}
			v, err := psrp.Unmarshal(m.Data, s.key)
			if err != nil {
				return invalid("Bad CREATE_PIPELINE data: %v", err)
			}
			cp, err := psrp.ParseCreatePipeline(v)
			if err != nil {
				return invalid("%v", err)
			}
			ctx, cancel := context.WithCancel(s.p.ctx)
			if !s.p.goRun(func() { s.run(ctx, pl, cp) }) {
				cancel()
				return invalid("The Privileged Endpoint is shutting down.")
			}
			pl.started = true
			pl.cancel = cancel
		case psrp.MsgPipelineInput, psrp.MsgEndOfPipelineInput:
			// The PEP's commands take no pipeline input.
		default:
			return invalid("The %v message is not supported for a pipeline.", m.Type)
		}
	}
	return nil
}

// Send delivers pool-level messages (the key exchange) or the rest of a
// pipeline's CREATE_PIPELINE.
func (p *PEP) Send(ctx context.Context, req *wsman.SendRequest) error {
	s, err := p.session(req.ShellID)
	if err != nil {
		return err
	}
	for _, st := range req.Streams {
		if st.CommandID == "" {
			if err := s.feedPool(st.Data); err != nil {
				return err
			}
			continue
		}
		s.mu.Lock()
		pl := s.pipes[strings.ToUpper(st.CommandID)]
		if pl == nil {
			s.mu.Unlock()
			return wsman.InvalidSelectorsFault("No pipeline with id " + st.CommandID + ".")
		}
		err := s.feedPipeline(pl, st.Data)
		s.mu.Unlock()
		if err != nil {
			return err
		}
	}
	return nil
}

// takeFragments removes whole fragments from q up to max bytes (at least
// one); with oneMessage it stops after the fragment that ends a message.
func takeFragments(q *[][]byte, max int, oneMessage bool) []wsman.Stream {
	var out []wsman.Stream
	n := 0
	for len(*q) > 0 {
		f := (*q)[0]
		if len(out) > 0 && n+len(f) > max {
			break
		}
		out = append(out, wsman.Stream{Name: "stdout", Data: f})
		n += len(f)
		*q = (*q)[1:]
		if oneMessage && fragmentEnds(f) {
			break
		}
	}
	return out
}

// fragmentEnds reports whether an encoded fragment is the last of its
// message.
func fragmentEnds(b []byte) bool {
	f, _, err := psrp.ParseFragment(b)
	return err == nil && f.End
}

// Receive long-polls for pool-level output (no CommandId) or a pipeline's
// output, answering Done once the final PIPELINE_STATE has been taken.
func (p *PEP) Receive(ctx context.Context, req *wsman.ReceiveRequest) (*wsman.ReceiveResponse, error) {
	s, err := p.session(req.ShellID)
	if err != nil {
		return nil, err
	}
	for {
		s.mu.Lock()
		if req.CommandID == "" {
			if len(s.poolOut) > 0 {
				// Windows answers each pool message (the three that open
				// the pool included) in a Receive of its own.
				r := &wsman.ReceiveResponse{Streams: takeFragments(&s.poolOut, req.MaxData, true)}
				s.mu.Unlock()
				return r, nil
			}
		} else {
			pl := s.pipes[strings.ToUpper(req.CommandID)]
			if pl == nil {
				s.mu.Unlock()
				return nil, wsman.InvalidSelectorsFault("No pipeline with id " + req.CommandID + ".")
			}
			if len(pl.out) > 0 || pl.done {
				r := &wsman.ReceiveResponse{Streams: takeFragments(&pl.out, req.MaxData, false), State: wsman.StateRunning}
				if pl.done && len(pl.out) == 0 {
					r.State = wsman.StateDone
				}
				s.mu.Unlock()
				return r, nil
			}
		}
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ch:
			// A Receive whose client has gone must not take output that
			// its successor should get.
			if ctx.Err() != nil {
				return nil, context.Cause(ctx)
			}
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		}
	}
}

// Signal stops a running pipeline (ctrl_c or terminate) and, for
// terminate, forgets it, so that its id may start a new pipeline; Windows
// accepts terminate after Done.
func (p *PEP) Signal(ctx context.Context, req *wsman.SignalRequest) error {
	s, err := p.session(req.ShellID)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key := strings.ToUpper(req.CommandID)
	pl := s.pipes[key]
	if pl == nil {
		return nil
	}
	if pl.cancel != nil && !pl.done {
		pl.cancel()
	}
	if req.Code == wsman.SignalTerminate {
		delete(s.pipes, key)
	}
	return nil
}

// Delete closes the RunspacePool: running pipelines stop; the transcript
// stays on the PEP (only Close-PrivilegedEndpoint ships it).
func (p *PEP) Delete(ctx context.Context, req *wsman.DeleteRequest) error {
	p.mu.Lock()
	s := p.sessions[strings.ToUpper(req.ShellID)]
	delete(p.sessions, strings.ToUpper(req.ShellID))
	p.mu.Unlock()
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, pl := range s.pipes {
		if pl.cancel != nil {
			pl.cancel()
		}
	}
	s.state = psrp.PoolClosed
	s.notify()
	return nil
}

// errStopped marks a pipeline stopped by a signal.
var errStopped = errors.New("the pipeline has been stopped")

// now is the PEP's clock time, for records.
func (p *PEP) now() time.Time { return p.clk.Now() }
