package wsman

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
)

// OptionKeepAlive is the Receive option that keeps a shell alive while a
// client polls it.
const OptionKeepAlive = "WSMAN_CMDSHELL_OPTION_KEEPALIVE"

// ShellOptions describes a shell to create.
type ShellOptions struct {
	// ResourceURI selects the endpoint: CmdResourceURI, or
	// PowerShellResourceURI("PrivilegedEndpoint").
	ResourceURI string
	// ShellID is the client-chosen id PowerShell remoting sends as the
	// rsp:Shell ShellId attribute; empty lets the server choose. A server
	// may ignore it (WinRM 2.0 does): Shell.ID is the id it chose.
	ShellID string
	// Name is the optional rsp:Shell Name attribute.
	Name string
	// InputStreams and OutputStreams default to "stdin" and
	// "stdout stderr" (PowerShell: "stdin pr" and "stdout").
	InputStreams, OutputStreams []string
	// Options go into the w:OptionSet (WINRS_CODEPAGE, or protocolversion
	// with MustComply for PowerShell).
	Options []Option
	// CreationXML, when set, is sent base64-encoded as
	// <creationXml xmlns="http://schemas.microsoft.com/powershell">.
	CreationXML []byte
}

// Shell is an open remote shell.
type Shell struct {
	c *Client
	// ID is the ShellId; ResourceURI the shell's endpoint.
	ID, ResourceURI string
}

// CreateShell opens a shell (transfer/Create).
func (c *Client) CreateShell(ctx context.Context, o ShellOptions) (*Shell, error) {
	in, out := o.InputStreams, o.OutputStreams
	if in == nil {
		in = []string{"stdin"}
	}
	if out == nil {
		out = []string{"stdout", "stderr"}
	}
	h := c.NewHeader(ActionCreate, o.ResourceURI)
	h.Options = o.Options
	var b strings.Builder
	b.WriteString(`<rsp:Shell`)
	if o.ShellID != "" {
		b.WriteString(` ShellId="` + Escape(o.ShellID) + `"`)
	}
	if o.Name != "" {
		b.WriteString(` Name="` + Escape(o.Name) + `"`)
	}
	b.WriteString(`><rsp:InputStreams>` + Escape(strings.Join(in, " ")) + `</rsp:InputStreams><rsp:OutputStreams>` +
		Escape(strings.Join(out, " ")) + `</rsp:OutputStreams>`)
	if o.CreationXML != nil {
		b.WriteString(`<creationXml xmlns="` + NSPowerShell + `">` + base64.StdEncoding.EncodeToString(o.CreationXML) + `</creationXml>`)
	}
	b.WriteString(`</rsp:Shell>`)
	r, err := c.Do(ctx, h, b.String(), ActionCreate+"Response")
	if err != nil {
		return nil, err
	}
	id, err := shellID(r)
	if err != nil {
		return nil, err
	}
	return &Shell{c: c, ID: id, ResourceURI: o.ResourceURI}, nil
}

// header returns a header for action on this shell.
func (s *Shell) header(action string) Header {
	h := s.c.NewHeader(action, s.ResourceURI)
	h.Selectors = []Selector{{Name: "ShellId", Value: s.ID}}
	return h
}

// CommandOptions describes a command to start.
type CommandOptions struct {
	// CommandID is the client-chosen id PowerShell remoting sends as the
	// rsp:CommandLine CommandId attribute; empty lets the server choose.
	CommandID string
	// Command is the rsp:Command text (empty for PowerShell pipelines).
	Command string
	// Arguments are the rsp:Arguments texts, as they go on the wire
	// (PowerShell: one base64 CREATE_PIPELINE message).
	Arguments []string
	// Options go into the w:OptionSet (WINRS_SKIP_CMD_SHELL…).
	Options []Option
}

// Command starts a command and returns its CommandId.
func (s *Shell) Command(ctx context.Context, o CommandOptions) (string, error) {
	h := s.header(ActionCommand)
	h.Options = o.Options
	var b strings.Builder
	b.WriteString(`<rsp:CommandLine`)
	if o.CommandID != "" {
		b.WriteString(` CommandId="` + Escape(o.CommandID) + `"`)
	}
	b.WriteString(`><rsp:Command>` + Escape(o.Command) + `</rsp:Command>`)
	for _, a := range o.Arguments {
		b.WriteString(`<rsp:Arguments>` + Escape(a) + `</rsp:Arguments>`)
	}
	b.WriteString(`</rsp:CommandLine>`)
	r, err := s.c.Do(ctx, h, b.String(), ActionCommand+"Response")
	if err != nil {
		return "", err
	}
	var x struct {
		ID string `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell CommandResponse>CommandId"`
	}
	if err := r.DecodeBody(&x); err != nil {
		return "", fmt.Errorf("wsman: Command: %w", err)
	}
	id := strings.TrimSpace(x.ID)
	if id == "" {
		return "", fmt.Errorf("wsman: Command: reply has no CommandId")
	}
	return id, nil
}

// Send delivers data on an input stream ("stdin", "pr"); commandID is
// empty for shell-level data (a PowerShell pool). end closes the stream.
func (s *Shell) Send(ctx context.Context, commandID, stream string, data []byte, end bool) error {
	var b strings.Builder
	b.WriteString(`<rsp:Send><rsp:Stream Name="` + Escape(stream) + `"`)
	if commandID != "" {
		b.WriteString(` CommandId="` + Escape(commandID) + `"`)
	}
	if end {
		b.WriteString(` End="true"`)
	}
	b.WriteString(`>` + base64.StdEncoding.EncodeToString(data) + `</rsp:Stream></rsp:Send>`)
	_, err := s.c.Do(ctx, s.header(ActionSend), b.String(), ActionSend+"Response")
	return err
}

// Stream is output received on one stream.
type Stream struct {
	Name, CommandID string
	Data            []byte
	End             bool
}

// Received is the reply to a Receive.
type Received struct {
	Streams []Stream
	// State is the CommandState URI (StateDone, StateRunning), empty when
	// the reply has none (shell-level receives).
	State string
	// ExitCode is set with StateDone.
	ExitCode int
}

// Done reports whether the command has finished.
func (r *Received) Done() bool { return r.State == StateDone }

// Receive long-polls for output of commandID (empty: shell-level output)
// on streams (default "stdout stderr"). When nothing arrives within
// OperationTimeout it returns an error for which IsTimedOut is true: poll
// again. Like PowerShell and pypsrp it sets WSMAN_CMDSHELL_OPTION_KEEPALIVE,
// which tells the server that a client still polls the shell.
func (s *Shell) Receive(ctx context.Context, commandID string, streams ...string) (*Received, error) {
	if len(streams) == 0 {
		streams = []string{"stdout", "stderr"}
	}
	var b strings.Builder
	b.WriteString(`<rsp:Receive><rsp:DesiredStream`)
	if commandID != "" {
		b.WriteString(` CommandId="` + Escape(commandID) + `"`)
	}
	b.WriteString(`>` + Escape(strings.Join(streams, " ")) + `</rsp:DesiredStream></rsp:Receive>`)
	h := s.header(ActionReceive)
	h.Options = []Option{{Name: OptionKeepAlive, Value: "True"}}
	r, err := s.c.Do(ctx, h, b.String(), ActionReceive+"Response")
	if err != nil {
		return nil, err
	}
	return parseReceived(r)
}

func parseReceived(r *Response) (*Received, error) {
	var x struct {
		Streams []struct {
			Name      string `xml:"Name,attr"`
			CommandID string `xml:"CommandId,attr"`
			End       string `xml:"End,attr"`
			Value     string `xml:",chardata"`
		} `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell ReceiveResponse>Stream"`
		State *struct {
			State    string `xml:"State,attr"`
			ExitCode string `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell ExitCode"`
		} `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell ReceiveResponse>CommandState"`
	}
	if err := r.DecodeBody(&x); err != nil {
		return nil, fmt.Errorf("wsman: Receive: %w", err)
	}
	out := &Received{}
	for _, st := range x.Streams {
		data, err := base64.StdEncoding.DecodeString(strings.TrimSpace(st.Value))
		if err != nil {
			return nil, fmt.Errorf("wsman: Receive: stream %s is not base64", st.Name)
		}
		out.Streams = append(out.Streams, Stream{Name: st.Name, CommandID: st.CommandID, Data: data, End: strings.EqualFold(st.End, "true")})
	}
	if x.State != nil {
		out.State = strings.TrimSpace(x.State.State)
		if code := strings.TrimSpace(x.State.ExitCode); code != "" {
			n, err := strconv.Atoi(code)
			if err != nil {
				return nil, fmt.Errorf("wsman: Receive: bad exit code %q", code)
			}
			out.ExitCode = n
		}
	}
	return out, nil
}

// Signal sends a signal (SignalTerminate, SignalCtrlC) to a command.
func (s *Shell) Signal(ctx context.Context, commandID, code string) error {
	body := `<rsp:Signal CommandId="` + Escape(commandID) + `"><rsp:Code>` + Escape(code) + `</rsp:Code></rsp:Signal>`
	_, err := s.c.Do(ctx, s.header(ActionSignal), body, ActionSignal+"Response")
	return err
}

// Delete closes the shell (transfer/Delete).
func (s *Shell) Delete(ctx context.Context) error {
	_, err := s.c.Do(ctx, s.header(ActionDelete), "", ActionDelete+"Response")
	return err
}

// shellID reads the new shell's id from a Create reply: rsp:Shell/ShellId,
// or the ShellId selector of x:ResourceCreated that older servers send
// alone.
func shellID(r *Response) (string, error) {
	var x struct {
		ShellID string `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell Shell>ShellId"`
		// Older servers name the shell only in the EPR of ResourceCreated.
		Created struct {
			Ref struct {
				Sel []struct {
					Name  string `xml:"Name,attr"`
					Value string `xml:",chardata"`
				} `xml:"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd SelectorSet>Selector"`
			} `xml:"http://schemas.xmlsoap.org/ws/2004/08/addressing ReferenceParameters"`
		} `xml:"http://schemas.xmlsoap.org/ws/2004/09/transfer ResourceCreated"`
	}
	if err := r.DecodeBody(&x); err != nil {
		return "", fmt.Errorf("wsman: Create: %w", err)
	}
	id := strings.TrimSpace(x.ShellID)
	for _, s := range x.Created.Ref.Sel {
		if id == "" && strings.EqualFold(s.Name, "ShellId") {
			id = strings.TrimSpace(s.Value)
		}
	}
	if id == "" {
		return "", fmt.Errorf("wsman: Create: reply has no ShellId")
	}
	return id, nil
}
