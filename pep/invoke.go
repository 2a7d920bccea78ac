package pep

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/runbook-dev/runbook/clock"
	"github.com/runbook-dev/runbook/pep/psrp"
	"github.com/runbook-dev/runbook/wsman"
)

var (
	// cmdletName is Verb-Noun: a command name, never script text.
	cmdletName = regexp.MustCompile(`^[A-Za-z]+-[A-Za-z][A-Za-z0-9]*$`)
	paramName  = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)
)

// errNoState reports a command that ended (CommandState Done) without a
// PIPELINE_STATE message.
var errNoState = errors.New("the command ended without a pipeline state")

// ErrClosed is returned by Invoke after Close.
var ErrClosed = errors.New("pep: session closed")

// arguments converts a call's parameters, refusing anything that could put
// a secret outside an encrypted SecureString.
func arguments(call Call) ([]psrp.Argument, bool, error) {
	if !cmdletName.MatchString(call.Cmdlet) {
		return nil, false, fmt.Errorf("pep: %q is not a command name (Verb-Noun); the PEP runs commands, not script text", call.Cmdlet)
	}
	var args []psrp.Argument
	secret := false
	seen := map[string]bool{}
	for _, p := range call.Params {
		if !paramName.MatchString(p.Name) {
			return nil, false, fmt.Errorf("pep: %s: %q is not a parameter name", call.Cmdlet, p.Name)
		}
		if seen[p.Name] {
			return nil, false, fmt.Errorf("pep: %s: parameter %s given twice", call.Cmdlet, p.Name)
		}
		seen[p.Name] = true
		v, isSecret, err := value(p)
		if err != nil {
			return nil, false, fmt.Errorf("pep: %s -%s: %w", call.Cmdlet, p.Name, err)
		}
		secret = secret || isSecret
		args = append(args, psrp.Argument{Name: p.Name, Value: v})
	}
	return args, secret, nil
}

// value converts one parameter value for serialization; it reports whether
// the value carries a secret. Its errors never include the value.
func value(p Param) (any, bool, error) {
	switch v := p.Value.(type) {
	case Credential:
		if !p.Secret {
			return nil, false, errors.New("a credential must be passed with Secret set")
		}
		return &psrp.Object{
			TypeNames: []string{"System.Management.Automation.PSCredential", "System.Object"},
			Props: []psrp.Property{
				{Name: "UserName", Value: v.Username},
				{Name: "Password", Value: psrp.NewSecureString(v.Password)},
			},
		}, true, nil
	case psrp.SecureString:
		return v, true, nil
	case string:
		if p.Secret {
			return psrp.NewSecureString(v), true, nil
		}
		return v, false, nil
	case nil, bool, int, int32, int64, uint32, []string:
		if p.Secret {
			return nil, false, fmt.Errorf("a %T cannot be sent as a secret; use a string", v)
		}
		return v, false, nil
	}
	return nil, false, fmt.Errorf("values of type %T are not supported", p.Value)
}

// Invoke runs call as a single command of a new pipeline.
func (s *session) Invoke(ctx context.Context, call Call) (Result, error) {
	args, secret, err := arguments(call)
	if err != nil {
		return Result{}, err
	}
	if err := s.lock(ctx); err != nil {
		return Result{}, err
	}
	defer s.unlock()
	switch {
	case s.closed:
		return Result{}, ErrClosed
	case s.broken != nil:
		return Result{}, fmt.Errorf("pep: session unusable after an earlier failure: %w", s.broken)
	}
	log := s.log.With("cmdlet", call.Cmdlet)
	log.Debug("pep: invoke", "parameters", sortedNames(call.Params))
	start := s.cfg.Clock.Now()
	if secret && s.key == nil {
		if err := s.exchangeKeys(ctx); err != nil {
			return Result{}, s.fail(fmt.Errorf("pep: session key exchange: %w", err))
		}
	}
	res, err := s.run(ctx, call.Cmdlet, args, call.Events)
	log.Debug("pep: invoke done", "elapsed", s.cfg.Clock.Since(start).String(), "outputs", len(res.Output), "errors", len(res.Errors), "failed", err != nil)
	return res, err
}

// fail marks the session broken by a transport or protocol error.
func (s *session) fail(err error) error {
	if s.broken == nil {
		s.broken = err
	}
	return err
}

// run sends CREATE_PIPELINE and collects the pipeline's output until the
// command is done.
func (s *session) run(ctx context.Context, cmdlet string, args []psrp.Argument, events func(Event)) (Result, error) {
	pid, err := psrp.NewGUID(s.cfg.Rand)
	if err != nil {
		return Result{}, err
	}
	cp := psrp.CreatePipeline{NoInput: true, Commands: []psrp.Command{{Cmd: cmdlet, Args: args}}}
	frags, err := s.message(psrp.MsgCreatePipeline, pid, cp.Object())
	if err != nil {
		return Result{}, fmt.Errorf("pep: %s: %w", cmdlet, err)
	}
	payloads := psrp.Pack(frags, s.cfg.maxPayload())
	cmdID := pid.Upper()
	if _, err := s.shell.Command(ctx, wsman.CommandOptions{CommandID: cmdID, Arguments: []string{encode64(payloads[0])}}); err != nil {
		return Result{}, s.fail(fmt.Errorf("pep: %s: %w", cmdlet, err))
	}
	for _, p := range payloads[1:] {
		if err := s.shell.Send(ctx, cmdID, "stdin", p, false); err != nil {
			return Result{}, s.fail(fmt.Errorf("pep: %s: %w", cmdlet, err))
		}
	}
	p := &pipe{s: s, cmdlet: cmdlet, pid: pid, events: events}
	err = p.collect(ctx, cmdID)
	if err != nil && ctx.Err() != nil {
		if serr := s.stop(cmdID, p); serr != nil {
			s.fail(serr)
		}
		return p.res, fmt.Errorf("pep: %s: %w", cmdlet, ctx.Err())
	}
	if err != nil {
		var ce *CommandError
		if !errors.As(err, &ce) {
			return p.res, s.fail(err)
		}
	}
	// Release the command on the server (Windows accepts terminate after
	// Done). A failure here does not change the command's outcome.
	if serr := s.shell.Signal(ctx, cmdID, wsman.SignalTerminate); serr != nil {
		s.log.Debug("pep: terminate signal failed", "error", serr.Error())
	}
	return p.res, err
}

// stop asks the server to stop a pipeline whose caller went away and waits
// for it to end, on a context of its own, so that the session stays usable
// and the command is known not to run on.
func (s *session) stop(cmdID string, p *pipe) error {
	ctx, cancel := clock.WithTimeout(context.Background(), s.cfg.Clock, time.Minute)
	defer cancel()
	if err := s.shell.Signal(ctx, cmdID, wsman.SignalCtrlC); err != nil {
		return fmt.Errorf("pep: stop %s: %w", p.cmdlet, err)
	}
	if err := p.collect(ctx, cmdID); err != nil {
		// A stopped pipeline fails with a CommandError. Its state can also
		// be lost with the reply to the Receive the cancellation cut off:
		// Done alone is enough to know the command no longer runs.
		var ce *CommandError
		if !errors.As(err, &ce) && !errors.Is(err, errNoState) {
			return fmt.Errorf("pep: stop %s: %w", p.cmdlet, err)
		}
	}
	if err := s.shell.Signal(ctx, cmdID, wsman.SignalTerminate); err != nil {
		s.log.Debug("pep: terminate signal failed", "error", err.Error())
	}
	return nil
}

// pipe gathers one pipeline's messages.
type pipe struct {
	s      *session
	cmdlet string
	pid    psrp.GUID
	in     psrp.Defragmenter
	res    Result
	state  *psrp.PipelineState
	events func(Event)
}

// collect receives until the command is done; a failed or stopped pipeline
// is a *CommandError.
func (p *pipe) collect(ctx context.Context, cmdID string) error {
	for {
		r, err := p.s.receive(ctx, cmdID)
		if wsman.IsTimedOut(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("pep: %s: %w", p.cmdlet, err)
		}
		for _, st := range r.Streams {
			msgs, err := p.in.Feed(st.Data)
			if err != nil {
				return fmt.Errorf("pep: %s: %w", p.cmdlet, err)
			}
			for _, raw := range msgs {
				if err := p.message(raw); err != nil {
					return fmt.Errorf("pep: %s: %w", p.cmdlet, err)
				}
			}
		}
		if r.Done() {
			break
		}
	}
	switch {
	case p.state == nil:
		return fmt.Errorf("pep: %s: %w", p.cmdlet, errNoState)
	case p.state.State == psrp.Failed || p.state.State == psrp.Stopped:
		ce := &CommandError{Cmdlet: p.cmdlet, Stopped: p.state.State == psrp.Stopped}
		if p.state.Error != nil {
			ce.Record = errorRecord(*p.state.Error)
		} else {
			ce.Record = ErrorRecord{Message: "the pipeline " + p.state.State.String()}
		}
		return ce
	case p.state.State != psrp.Completed:
		return fmt.Errorf("pep: %s: the command ended in state %v", p.cmdlet, p.state.State)
	}
	return nil
}

// message handles one pipeline message.
func (p *pipe) message(raw []byte) error {
	m, err := psrp.ParseMessage(raw)
	if err != nil {
		return err
	}
	if m.Destination != psrp.ToClient || m.RPID != p.s.rpid || m.PID != p.pid {
		return fmt.Errorf("%v message for %s/%s, not this pipeline", m.Type, m.RPID, m.PID)
	}
	v, err := psrp.Unmarshal(m.Data, p.s.key)
	if err != nil {
		return fmt.Errorf("%v: %w", m.Type, err)
	}
	r := &p.res
	switch m.Type {
	case psrp.MsgPipelineOutput:
		r.Output = append(r.Output, v)
	case psrp.MsgErrorRecord:
		if o, ok := v.(*psrp.Object); ok {
			r.Errors = append(r.Errors, errorRecord(psrp.ParseErrorRecord(o)))
		}
	case psrp.MsgWarningRecord:
		r.Warnings = append(r.Warnings, psrp.ParseInformationalRecord(v))
	case psrp.MsgVerboseRecord, psrp.MsgDebugRecord:
		r.Verbose = append(r.Verbose, psrp.ParseInformationalRecord(v))
	case psrp.MsgInformationRecord:
		r.Information = append(r.Information, psrp.ParseInformationRecord(v))
		if p.events != nil {
			p.events(Event{Information: r.Information[len(r.Information)-1]})
		}
	case psrp.MsgProgressRecord:
		pr := psrp.ParseProgressRecord(v)
		r.Progress = append(r.Progress, Progress{Activity: pr.Activity, Status: pr.StatusDescription, Percent: int(pr.PercentComplete), Completed: pr.Completed})
		if p.events != nil {
			ev := r.Progress[len(r.Progress)-1]
			p.events(Event{Progress: &ev})
		}
	case psrp.MsgPipelineState:
		st, err := psrp.ParsePipelineState(v)
		if err != nil {
			return err
		}
		p.state = &st
	default:
		// Host calls cannot come: the client declares no host.
		p.s.log.Debug("pep: ignoring pipeline message", "type", m.Type.String())
	}
	return nil
}
