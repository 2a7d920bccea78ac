package wsman

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
)

// shellEntry is one open shell in the core's table.
type shellEntry struct {
	id       string
	uri      string
	h        ShellHandler
	owner    string
	commands map[string]bool // upper-cased CommandIds
	ready    bool            // false while Create is running
}

// dispatch routes a decoded request to its handler and encodes the reply.
func (s *Server) dispatch(ctx context.Context, req *request, rec *Record) ([]byte, int) {
	var body string
	var err error
	switch req.Action {
	case ActionCreate:
		body, err = s.create(ctx, req, rec)
	case ActionCommand:
		body, err = s.command(ctx, req, rec)
	case ActionSend:
		body, err = s.send(ctx, req, rec)
	case ActionReceive:
		body, err = s.receive(ctx, req)
	case ActionSignal:
		body, err = s.signal(ctx, req)
	case ActionDelete:
		body, err = s.delete(ctx, req)
	default:
		err = ActionNotSupportedFault(req.Action)
	}
	if err != nil {
		var f *Fault
		if !errors.As(err, &f) {
			f = InternalErrorFault(err)
		}
		return s.faultReply(req.MessageID, f, rec)
	}
	reply := envelopeXML(req.Action+"Response", "uuid:"+s.nextID(3), req.MessageID, body)
	if req.MaxEnvelopeSize > 0 && len(reply) > req.MaxEnvelopeSize {
		return s.faultReply(req.MessageID, EncodingLimitFault(), rec)
	}
	return reply, http.StatusOK
}

func (s *Server) faultReply(relatesTo string, f *Fault, rec *Record) ([]byte, int) {
	rec.Fault = f.Subcode
	return envelopeXML(actionFault, "uuid:"+s.nextID(3), relatesTo, faultXML(f, s.cfg.Machine)), http.StatusInternalServerError
}

// DestinationUnreachableFault answers a request for a ResourceURI nobody
// serves (for PowerShell: an unknown session configuration).
func DestinationUnreachableFault(uri string) *Fault {
	return &Fault{
		Code:      "s:Sender",
		Subcode:   "w:DestinationUnreachable",
		Reason:    "The WS-Management service cannot process the request because the resource URI " + uri + " is not served on this computer.",
		WSManCode: 2150858770,
	}
}

func (s *Server) create(ctx context.Context, req *request, rec *Record) (string, error) {
	s.mu.Lock()
	h := s.handlers[strings.ToLower(req.ResourceURI)]
	s.mu.Unlock()
	if h == nil {
		return "", DestinationUnreachableFault(req.ResourceURI)
	}
	sh := req.env.Body.Shell
	if sh == nil {
		return "", InvalidMessageFault("The Create request has no rsp:Shell.")
	}
	id := strings.TrimSpace(sh.ShellID)
	if id == "" || s.cfg.ServerShellIDs {
		id = s.nextID(1)
	}
	cr := &CreateRequest{
		Header: req.Header, ShellID: id, Name: sh.Name,
		InputStreams: fields(sh.InputStreams), OutputStreams: fields(sh.OutputStreams),
		Body: req.env.Body.Inner,
	}
	cr.Header.ShellID = id
	if sh.CreationXML != nil {
		b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(sh.CreationXML.Value))
		if err != nil {
			return "", InvalidMessageFault("The creationXml is not base64.")
		}
		cr.CreationXML = b
	}
	key := strings.ToUpper(id)
	s.mu.Lock()
	switch {
	case s.shells[key] != nil:
		s.mu.Unlock()
		return "", InvalidSelectorsFault("A shell with id " + id + " already exists.")
	case s.cfg.MaxShells > 0 && len(s.shells) >= s.cfg.MaxShells:
		s.mu.Unlock()
		return "", QuotaLimitFault(s.cfg.MaxShells)
	}
	e := &shellEntry{id: id, uri: req.ResourceURI, h: h, owner: req.User, commands: map[string]bool{}}
	s.shells[key] = e
	s.mu.Unlock()
	rec.ShellID = id
	if err := h.Create(ctx, cr); err != nil {
		s.mu.Lock()
		delete(s.shells, key)
		s.mu.Unlock()
		return "", err
	}
	s.mu.Lock()
	e.ready = true
	s.mu.Unlock()
	var b strings.Builder
	b.WriteString(`<x:ResourceCreated><a:Address>` + esc(s.url) + `</a:Address><a:ReferenceParameters><w:ResourceURI>` +
		esc(req.ResourceURI) + `</w:ResourceURI><w:SelectorSet><w:Selector Name="ShellId">` + esc(id) +
		`</w:Selector></w:SelectorSet></a:ReferenceParameters></x:ResourceCreated>`)
	b.WriteString(`<rsp:Shell><rsp:ShellId>` + esc(id) + `</rsp:ShellId><rsp:ResourceUri>` + esc(req.ResourceURI) +
		`</rsp:ResourceUri><rsp:Owner>` + esc(req.User) + `</rsp:Owner><rsp:ClientIP>127.0.0.1</rsp:ClientIP>` +
		`<rsp:IdleTimeOut>PT7200.000S</rsp:IdleTimeOut><rsp:InputStreams>` + esc(strings.Join(cr.InputStreams, " ")) +
		`</rsp:InputStreams><rsp:OutputStreams>` + esc(strings.Join(cr.OutputStreams, " ")) + `</rsp:OutputStreams></rsp:Shell>`)
	return b.String(), nil
}

// shell looks up the request's shell, and its command when commandID is set.
func (s *Server) shell(req *request, commandID string) (*shellEntry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.shells[strings.ToUpper(req.ShellID)]
	if e == nil || !e.ready {
		return nil, InvalidSelectorsFault("No shell with id " + req.ShellID + ".")
	}
	if req.ResourceURI != "" && !strings.EqualFold(req.ResourceURI, e.uri) {
		return nil, InvalidSelectorsFault("The shell " + req.ShellID + " does not belong to " + req.ResourceURI + ".")
	}
	if commandID != "" && !e.commands[strings.ToUpper(commandID)] {
		return nil, InvalidSelectorsFault("No command with id " + commandID + ".")
	}
	return e, nil
}

func (s *Server) command(ctx context.Context, req *request, rec *Record) (string, error) {
	e, err := s.shell(req, "")
	if err != nil {
		return "", err
	}
	cl := req.env.Body.CommandLine
	if cl == nil {
		return "", InvalidMessageFault("The Command request has no rsp:CommandLine.")
	}
	id := strings.TrimSpace(cl.CommandID)
	if id == "" {
		id = s.nextID(2)
	}
	cr := &CommandRequest{Header: req.Header, CommandID: id, Command: cl.Command, Arguments: cl.Arguments, Body: req.env.Body.Inner}
	rec.CommandID, rec.Command, rec.Arguments = id, cl.Command, cl.Arguments
	key := strings.ToUpper(id)
	s.mu.Lock()
	dup := e.commands[key]
	e.commands[key] = true
	s.mu.Unlock()
	if dup {
		return "", InvalidSelectorsFault("A command with id " + id + " already exists.")
	}
	if err := e.h.Command(ctx, cr); err != nil {
		s.mu.Lock()
		delete(e.commands, key)
		s.mu.Unlock()
		return "", err
	}
	return `<rsp:CommandResponse><rsp:CommandId>` + esc(id) + `</rsp:CommandId></rsp:CommandResponse>`, nil
}

func (s *Server) send(ctx context.Context, req *request, rec *Record) (string, error) {
	sd := req.env.Body.Send
	if sd == nil {
		return "", InvalidMessageFault("The Send request has no rsp:Send.")
	}
	sr := &SendRequest{Header: req.Header}
	for _, st := range sd.Streams {
		data, err := base64.StdEncoding.DecodeString(strings.TrimSpace(st.Value))
		if err != nil {
			return "", InvalidMessageFault("The stream data is not base64.")
		}
		sr.Streams = append(sr.Streams, Stream{Name: st.Name, CommandID: st.CommandID, Data: data, End: strings.EqualFold(st.End, "true")})
	}
	rec.Input = sr.Streams
	cmd := ""
	if len(sr.Streams) > 0 {
		cmd = sr.Streams[0].CommandID
		rec.CommandID = cmd
	}
	e, err := s.shell(req, cmd)
	if err != nil {
		return "", err
	}
	if err := e.h.Send(ctx, sr); err != nil {
		return "", err
	}
	return `<rsp:SendResponse/>`, nil
}

func (s *Server) receive(ctx context.Context, req *request) (string, error) {
	rc := req.env.Body.Receive
	if rc == nil || rc.DesiredStream == nil {
		return "", InvalidMessageFault("The Receive request has no rsp:DesiredStream.")
	}
	ds := rc.DesiredStream
	e, err := s.shell(req, ds.CommandID)
	if err != nil {
		return "", err
	}
	rr := &ReceiveRequest{Header: req.Header, CommandID: ds.CommandID, Streams: fields(ds.Value), SequenceID: rc.SequenceID}
	size := req.MaxEnvelopeSize
	if size == 0 {
		size = 512000 // Windows' default MaxEnvelopeSizekb=500
	}
	rr.MaxData = max((size-4096)*3/4, 1024)
	wait := s.cfg.ReceiveCap
	if req.OperationTimeout > 0 && req.OperationTimeout < wait {
		wait = req.OperationTimeout
	}
	pctx, cancel := context.WithCancelCause(ctx)
	defer cancel(context.Canceled)
	t := s.clk.NewTimer(wait)
	defer t.Stop()
	go func() {
		select {
		case <-t.C():
			cancel(ErrOperationTimeout)
		case <-pctx.Done():
		}
	}()
	// The long-poll is waiting, not work: the clock may skip ahead.
	if h, ok := ctx.Value(holdKey{}).(*clockHold); ok {
		h.release()
		defer h.acquire()
	}
	resp, err := e.h.Receive(pctx, rr)
	if err != nil {
		if errors.Is(err, ErrOperationTimeout) || errors.Is(context.Cause(pctx), ErrOperationTimeout) {
			return "", TimedOutFault()
		}
		return "", err
	}
	if resp == nil {
		resp = &ReceiveResponse{}
	}
	var b strings.Builder
	b.WriteString(`<rsp:ReceiveResponse>`)
	for _, st := range resp.Streams {
		id := st.CommandID
		if id == "" {
			id = ds.CommandID
		}
		b.WriteString(`<rsp:Stream Name="` + esc(st.Name) + `"`)
		if id != "" {
			b.WriteString(` CommandId="` + esc(id) + `"`)
		}
		if st.End {
			b.WriteString(` End="true"`)
		}
		b.WriteString(`>` + base64.StdEncoding.EncodeToString(st.Data) + `</rsp:Stream>`)
	}
	if resp.State != "" {
		b.WriteString(`<rsp:CommandState`)
		if ds.CommandID != "" {
			b.WriteString(` CommandId="` + esc(ds.CommandID) + `"`)
		}
		b.WriteString(` State="` + esc(resp.State) + `">`)
		if resp.State == StateDone {
			b.WriteString(`<rsp:ExitCode>` + strconv.Itoa(resp.ExitCode) + `</rsp:ExitCode>`)
		}
		b.WriteString(`</rsp:CommandState>`)
	}
	b.WriteString(`</rsp:ReceiveResponse>`)
	return b.String(), nil
}

func (s *Server) signal(ctx context.Context, req *request) (string, error) {
	sg := req.env.Body.Signal
	if sg == nil {
		return "", InvalidMessageFault("The Signal request has no rsp:Signal.")
	}
	e, err := s.shell(req, sg.CommandID)
	if err != nil {
		return "", err
	}
	code := strings.TrimSpace(sg.Code)
	if err := e.h.Signal(ctx, &SignalRequest{Header: req.Header, CommandID: sg.CommandID, Code: code}); err != nil {
		return "", err
	}
	if code == SignalTerminate && sg.CommandID != "" {
		// A terminated command is gone: Windows accepts its CommandId for a
		// new command (pypsrp reuses a pipeline's id to run it again).
		s.mu.Lock()
		delete(e.commands, strings.ToUpper(sg.CommandID))
		s.mu.Unlock()
	}
	return `<rsp:SignalResponse/>`, nil
}

func (s *Server) delete(ctx context.Context, req *request) (string, error) {
	e, err := s.shell(req, "")
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	delete(s.shells, strings.ToUpper(e.id))
	s.mu.Unlock()
	if err := e.h.Delete(ctx, &DeleteRequest{Header: req.Header}); err != nil {
		return "", err
	}
	return "", nil
}
