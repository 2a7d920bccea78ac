package pep

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/runbook-dev/runbook/pep/psrp"
)

// call is one running command.
type call struct {
	ctx  context.Context
	p    *PEP
	s    *session
	pl   *pipeline
	cmd  *cmdlet
	args map[string]any // by canonical parameter name
}

// emit queues a message for the pipeline's Receive.
func (c *call) emit(mt psrp.MessageType, v any) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	frags, err := c.s.encode(mt, c.pl.pid, v)
	if err != nil {
		// Only the simulator's own objects are encoded here, so this is a bug
		// in it; report it on the error stream rather than hide it.
		bug := psrp.ErrorRecord{Message: "sim/pep: cannot encode output: " + err.Error(), FullyQualifiedErrorId: "SimulatorBug"}
		frags, _ = c.s.encode(psrp.MsgErrorRecord, c.pl.pid, bug.StreamObject())
	}
	c.pl.out = append(c.pl.out, frags...)
	c.s.notify()
}

// output writes an object to the output stream, with the notes a remote
// object carries.
func (c *call) output(v any) {
	if o, ok := v.(*psrp.Object); ok {
		o.Set("PSComputerName", c.p.cfg.ComputerName).Set("RunspaceId", c.s.rpid).Set("PSShowComputerName", true)
	}
	c.emit(psrp.MsgPipelineOutput, v)
}

func (c *call) progress(r psrp.ProgressRecord) { c.emit(psrp.MsgProgressRecord, r.Object()) }

// The process and thread ids the simulated endpoint's records carry; a
// real PEP reports its wsmprovhost.exe.
const (
	simProcessID     = 4712
	simNativeThread  = 5236
	simManagedThread = 31
)

func (c *call) info(msg string) {
	c.emit(psrp.MsgInformationRecord, psrp.InformationRecord{
		MessageData: msg, Source: c.cmd.name, TimeGenerated: c.p.now(),
		User: c.s.user, Computer: c.p.cfg.ComputerName,
		ProcessID: simProcessID, NativeThreadID: simNativeThread, ManagedThreadID: simManagedThread,
	}.Object())
}

func (c *call) writeError(e psrp.ErrorRecord) { c.emit(psrp.MsgErrorRecord, e.StreamObject()) }

// sleep waits on the PEP's clock; it fails when the pipeline is stopped.
func (c *call) sleep(d time.Duration) error {
	if err := c.p.clk.Sleep(c.ctx, d); err != nil {
		return errStopped
	}
	return nil
}

// run executes a pipeline and queues its final state.
func (s *session) run(ctx context.Context, pl *pipeline, cp psrp.CreatePipeline) {
	entry := TranscriptEntry{Time: s.p.now(), User: s.user, Session: s.id}
	state := psrp.PipelineState{State: psrp.Completed}
	c, rec := s.p.prepare(ctx, s, pl, cp, &entry)
	if rec == nil {
		err := c.cmd.run(c)
		switch {
		case errors.Is(err, errStopped) || ctx.Err() != nil:
			rec = stoppedError()
			state.State = psrp.Stopped
		case err != nil:
			var t *terminating
			if errors.As(err, &t) {
				rec = &t.rec
			} else {
				rec = &psrp.ErrorRecord{Message: err.Error(), FullyQualifiedErrorId: "RuntimeException", Reason: "RuntimeException"}
			}
		}
	}
	if rec != nil {
		state.Error = rec
		if state.State != psrp.Stopped {
			state.State = psrp.Failed
		}
		entry.Outcome = "Failed: " + rec.FullyQualifiedErrorId
		if state.State == psrp.Stopped {
			entry.Outcome = "Stopped"
		}
	} else {
		entry.Outcome = "Completed"
	}
	s.p.record(entry)
	s.mu.Lock()
	defer s.mu.Unlock()
	frags, _ := s.encode(psrp.MsgPipelineState, pl.pid, state.Object())
	pl.out = append(pl.out, frags...)
	pl.done = true
	if c != nil && c.cmd.closesSession && rec == nil {
		s.state = psrp.PoolClosed
		_ = s.queuePool(psrp.MsgRunspacePoolState, psrp.PoolState{State: psrp.PoolClosed}.Object())
	}
	s.notify()
}

// terminating is a cmdlet's terminating error: the pipeline fails with rec.
type terminating struct{ rec psrp.ErrorRecord }

func (t *terminating) Error() string { return t.rec.Message }

// fail returns rec as a terminating error.
func fail(rec psrp.ErrorRecord) error { return &terminating{rec: rec} }

// forbiddenInName are characters that make a command name script text:
// variables, statements, pipelines, blocks, sub-expressions, quoting.
const forbiddenInName = "$;|&{}()[]@'\"`<>=\n\r\t "

// prepare applies the JEA rules and binds the parameters. It fills the
// transcript entry either way.
func (p *PEP) prepare(ctx context.Context, s *session, pl *pipeline, cp psrp.CreatePipeline, entry *TranscriptEntry) (*call, *psrp.ErrorRecord) {
	if len(cp.Commands) == 0 {
		return nil, scriptsNotAllowed("")
	}
	var text strings.Builder
	for i, c := range cp.Commands {
		text.WriteString(c.Cmd)
		switch {
		case i == len(cp.Commands)-1:
		case c.EndOfStatement:
			text.WriteString("; ")
		default:
			text.WriteString(" | ")
		}
	}
	entry.Command = text.String()
	first := cp.Commands[0]
	if len(cp.Commands) > 1 || first.IsScript || strings.ContainsAny(first.Cmd, forbiddenInName) || first.Cmd == "" {
		entry.IsScript = true
		return nil, scriptsNotAllowed(entry.Command)
	}
	cmd := p.lookup(first.Cmd)
	if cmd == nil {
		return nil, commandNotFound(first.Cmd)
	}
	entry.Command = cmd.name
	args, params, rec := bind(cmd, first.Args)
	entry.Parameters = params
	if rec != nil {
		return nil, rec
	}
	return &call{ctx: ctx, p: p, s: s, pl: pl, cmd: cmd, args: args}, nil
}

func scriptsNotAllowed(text string) *psrp.ErrorRecord {
	// The record a NoLanguage JEA endpoint answers with (seen on a real
	// endpoint): a ParseException reported as PIPELINE_STATE Failed.
	return &psrp.ErrorRecord{
		Message:               "The syntax is not supported by this runspace. This can occur if the runspace is in no-language mode.",
		FullyQualifiedErrorId: "ScriptsNotAllowed",
		Category:              psrp.ParserError,
		Reason:                "ParseException",
		TargetName:            text,
		TargetType:            "String",
		ExceptionType:         "System.Management.Automation.ParseException",
	}
}

func commandNotFound(name string) *psrp.ErrorRecord {
	return &psrp.ErrorRecord{
		Message:               "The term '" + name + "' is not recognized as the name of a cmdlet, function, script file, or operable program. Check the spelling of the name, or if a path was included, verify that the path is correct and try again.",
		FullyQualifiedErrorId: "CommandNotFoundException",
		Category:              psrp.ObjectNotFound,
		Reason:                "CommandNotFoundException",
		TargetName:            name,
		TargetType:            "String",
		ExceptionType:         "System.Management.Automation.CommandNotFoundException",
	}
}

func stoppedError() *psrp.ErrorRecord {
	return &psrp.ErrorRecord{
		Message:               "The pipeline has been stopped.",
		FullyQualifiedErrorId: "PipelineStopped",
		Category:              psrp.OperationStopped,
		Reason:                "PipelineStoppedException",
		ExceptionType:         "System.Management.Automation.PipelineStoppedException",
	}
}
