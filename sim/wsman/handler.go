package wsman

import (
	"context"
	"errors"
	"time"
)

// Well-known ResourceURIs and actions.
const (
	// CmdResourceURI is the WinRS cmd.exe shell that masterzen/winrm opens.
	CmdResourceURI = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd"
	// PowerShellResourceURIPrefix prefixes the ResourceURI of every PowerShell
	// remoting endpoint; the configuration name follows it
	// (…/powershell/PrivilegedEndpoint).
	PowerShellResourceURIPrefix = "http://schemas.microsoft.com/powershell/"

	ActionCreate  = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Create"
	ActionDelete  = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete"
	ActionCommand = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Command"
	ActionSend    = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Send"
	ActionReceive = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Receive"
	ActionSignal  = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Signal"

	// SignalTerminate is the WinRS terminate signal code masterzen sends.
	SignalTerminate = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/signal/terminate"
	// SignalCtrlC is the code PowerShell remoting clients send to stop a
	// pipeline (the misspelling is Microsoft's).
	SignalCtrlC = "http://schemas.microsoft.com/powershell/signal/crtl_c"
)

// ShellHandler serves the shells of one ResourceURI. The server core owns the
// shell table: it assigns (or accepts the client's) ShellId and CommandId,
// rejects requests for unknown shells with a w:InvalidSelectors fault, enforces
// the shell limit and removes the shell after Delete, so a handler only keeps
// its own per-shell state keyed by ShellID.
//
// Every method may be called concurrently, for different shells and for the
// same shell (a Send arrives while a Receive is long-polling). A method
// returns a *Fault to answer with that SOAP fault; any other error becomes a
// generic w:InternalError fault whose text is the error's text, so it must
// never contain a secret. ctx ends with the HTTP request (when the client
// goes away, or the server closes): work that outlives the call, such as a
// running command, needs its own context, ended by Signal or Delete. Close
// calls Delete for every shell still open.
type ShellHandler interface {
	// Create opens the shell req.ShellID.
	Create(ctx context.Context, req *CreateRequest) error
	// Command starts req.CommandID in the shell.
	Command(ctx context.Context, req *CommandRequest) error
	// Send delivers input to a command (or, with an empty CommandID, to the
	// shell itself, as PowerShell remoting does for pool-level messages).
	Send(ctx context.Context, req *SendRequest) error
	// Receive returns output. It should block until there is output to
	// return or the command's state changes, and give up when ctx ends: the
	// core cancels ctx with cause ErrOperationTimeout once
	// min(OperationTimeout, Config.ReceiveCap) has passed on the server's
	// clock; if Receive then returns an error the core answers with the
	// w:TimedOut fault (output returned without error is always sent). The
	// reply must fit req.MaxData decoded bytes of stream data.
	Receive(ctx context.Context, req *ReceiveRequest) (*ReceiveResponse, error)
	// Signal delivers a signal (terminate, ctrl_c) to a command. Windows
	// accepts a terminate signal for a command that has already finished, so
	// should a handler.
	Signal(ctx context.Context, req *SignalRequest) error
	// Delete closes the shell and releases everything it holds. The core
	// forgets the shell whatever Delete returns.
	Delete(ctx context.Context, req *DeleteRequest) error
}

// ErrOperationTimeout is the context cause a Receive sees when its long-poll
// window closes; a handler may also return it to ask for the w:TimedOut
// fault.
var ErrOperationTimeout = errors.New("wsman: OperationTimeout expired")

// Header holds the WS-Addressing and WS-Management header values of a
// request, as sent.
type Header struct {
	// Action is a:Action, e.g. ActionReceive.
	Action string
	// To is a:To.
	To string
	// MessageID is a:MessageID; the reply's a:RelatesTo echoes it.
	MessageID string
	// ResourceURI is w:ResourceURI.
	ResourceURI string
	// ShellID is the w:Selector named ShellId (empty for Create).
	ShellID string
	// Selectors holds every w:Selector by name, ShellId included.
	Selectors map[string]string
	// Options holds the w:OptionSet in order.
	Options []Option
	// OperationTimeout is w:OperationTimeout (zero when absent).
	OperationTimeout time.Duration
	// MaxEnvelopeSize is w:MaxEnvelopeSize (zero when absent).
	MaxEnvelopeSize int
	// Locale and DataLocale are the xml:lang of w:Locale and p:DataLocale.
	Locale, DataLocale string
	// User is the authenticated account as the client named it
	// (DOMAIN\user or user), empty when the server does not authenticate.
	User string
}

// Option is one w:Option of a w:OptionSet.
type Option struct {
	Name       string
	Value      string
	MustComply bool
}

// Option returns the value of the option named name (case-insensitive) and
// whether it was present.
func (h *Header) Option(name string) (string, bool) {
	for _, o := range h.Options {
		if equalFold(o.Name, name) {
			return o.Value, true
		}
	}
	return "", false
}

// CreateRequest is a transfer/Create of a shell.
type CreateRequest struct {
	Header
	// ShellID is the new shell's id: the ShellId attribute of rsp:Shell when
	// the client chose one (PowerShell remoting clients do), otherwise an id
	// the core generated.
	ShellID string
	// Name is the optional rsp:Shell Name attribute.
	Name string
	// InputStreams and OutputStreams are the declared stream names
	// ("stdin", "pr"; "stdout", "stderr").
	InputStreams, OutputStreams []string
	// CreationXML is the base64-decoded content of the PowerShell
	// <creationXml> element, nil when absent.
	CreationXML []byte
	// Body is the raw inner XML of s:Body, for anything else a handler
	// wants to read.
	Body []byte
}

// CommandRequest is a shell/Command.
type CommandRequest struct {
	Header
	// CommandID is the new command's id: the CommandId attribute of
	// rsp:CommandLine when the client chose one, otherwise generated.
	CommandID string
	// Command is the text of rsp:Command (CDATA unwrapped).
	Command string
	// Arguments holds the text of each rsp:Arguments, as sent. PowerShell
	// remoting sends one base64 argument; ArgumentData decodes them.
	Arguments []string
	// Body is the raw inner XML of s:Body.
	Body []byte
}

// ArgumentData base64-decodes each argument.
func (r *CommandRequest) ArgumentData() ([][]byte, error) {
	out := make([][]byte, 0, len(r.Arguments))
	for _, a := range r.Arguments {
		b, err := decodeBase64(a)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

// Stream is one rsp:Stream element of a Send or a Receive reply.
type Stream struct {
	// Name is the stream name ("stdin", "pr", "stdout", "stderr").
	Name string
	// CommandID is empty for shell-level (PowerShell pool) data.
	CommandID string
	// Data is the decoded content.
	Data []byte
	// End marks the end of the stream (End="true").
	End bool
}

// SendRequest is a shell/Send.
type SendRequest struct {
	Header
	// Streams holds the rsp:Stream elements in order.
	Streams []Stream
}

// ReceiveRequest is a shell/Receive.
type ReceiveRequest struct {
	Header
	// CommandID is the DesiredStream's CommandId attribute; empty for a
	// shell-level (PowerShell pool) receive.
	CommandID string
	// Streams is the DesiredStream list ("stdout stderr" → two names).
	Streams []string
	// SequenceID is the optional rsp:Receive SequenceId attribute.
	SequenceID string
	// MaxData is how many decoded stream bytes fit in the reply under the
	// client's MaxEnvelopeSize. A handler returns at most this much and keeps
	// the rest for the next Receive.
	MaxData int
}

// CommandState values for ReceiveResponse.State.
const (
	StateDone    = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Done"
	StateRunning = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Running"
	StatePending = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Pending"
)

// ReceiveResponse is the reply to a Receive.
type ReceiveResponse struct {
	// Streams is the output, in order. A Stream's CommandID defaults to the
	// request's.
	Streams []Stream
	// State is the rsp:CommandState State URI (StateDone, StateRunning…);
	// empty omits rsp:CommandState (shell-level receives).
	State string
	// ExitCode is sent with StateDone.
	ExitCode int
}

// SignalRequest is a shell/Signal.
type SignalRequest struct {
	Header
	// CommandID is the rsp:Signal CommandId attribute.
	CommandID string
	// Code is the rsp:Code URI (SignalTerminate, SignalCtrlC…).
	Code string
}

// DeleteRequest is a transfer/Delete of the shell Header.ShellID.
type DeleteRequest struct {
	Header
}
