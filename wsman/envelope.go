package wsman

import (
	"bytes"
	"crypto/rand"
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Namespaces of WS-Management, and the prefixes Envelope binds them to.
const (
	NSSoap       = "http://www.w3.org/2003/05/soap-envelope"             // s
	NSAddressing = "http://schemas.xmlsoap.org/ws/2004/08/addressing"    // a
	NSWSMan      = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"      // w
	NSMSWSMan    = "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd" // p
	NSShell      = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell"
	NSTransfer   = "http://schemas.xmlsoap.org/ws/2004/09/transfer" // x
	NSPowerShell = "http://schemas.microsoft.com/powershell"
)

// Actions, ResourceURIs and codes of the WinRS shell protocol.
const (
	ActionCreate  = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Create"
	ActionDelete  = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete"
	ActionCommand = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Command"
	ActionSend    = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Send"
	ActionReceive = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Receive"
	ActionSignal  = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Signal"

	// CmdResourceURI is the WinRS cmd.exe shell.
	CmdResourceURI = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd"

	SignalTerminate = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/signal/terminate"
	// SignalCtrlC stops a PowerShell pipeline (the misspelling is
	// Microsoft's).
	SignalCtrlC = "http://schemas.microsoft.com/powershell/signal/crtl_c"

	StateDone    = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Done"
	StateRunning = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Running"

	anonymous = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"
)

// PowerShellResourceURI returns the ResourceURI of a PowerShell session
// configuration, e.g. PowerShellResourceURI("PrivilegedEndpoint").
func PowerShellResourceURI(configuration string) string {
	return "http://schemas.microsoft.com/powershell/" + configuration
}

// Header is the WS-Addressing and WS-Management header of a request.
// masterzen's soap.HeaderOption cannot set MustComply, which PowerShell
// remoting's protocolversion option needs, hence this builder.
type Header struct {
	To               string
	Action           string
	ResourceURI      string
	MessageID        string // "uuid:…"; NewHeader makes a fresh one
	OperationTimeout time.Duration
	MaxEnvelopeSize  int
	Locale           string // w:Locale and p:DataLocale
	Selectors        []Selector
	Options          []Option
}

// Selector is a w:Selector (ShellId for shell operations).
type Selector struct {
	Name, Value string
}

// Option is a w:Option.
type Option struct {
	Name, Value string
	MustComply  bool
}

// NewMessageID returns a fresh "uuid:" message id (random version 4 UUID,
// upper case as Windows writes them).
func NewMessageID() string { return "uuid:" + NewUUID() }

// NewUUID returns a random version 4 UUID in upper case.
func NewUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return strings.ToUpper(fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:]))
}

// Envelope writes a request envelope: the header, and body as the raw inner
// XML of s:Body (the caller escapes it; prefixes s, a, w, p, rsp and x are
// bound).
func Envelope(h Header, body string) []byte {
	var b strings.Builder
	b.WriteString(`<s:Envelope xmlns:s="` + NSSoap + `" xmlns:a="` + NSAddressing + `" xmlns:w="` + NSWSMan +
		`" xmlns:p="` + NSMSWSMan + `" xmlns:rsp="` + NSShell + `" xmlns:x="` + NSTransfer + `"><s:Header>`)
	b.WriteString(`<a:To>` + Escape(h.To) + `</a:To>`)
	b.WriteString(`<a:ReplyTo><a:Address s:mustUnderstand="true">` + anonymous + `</a:Address></a:ReplyTo>`)
	if h.MaxEnvelopeSize > 0 {
		b.WriteString(`<w:MaxEnvelopeSize s:mustUnderstand="true">` + strconv.Itoa(h.MaxEnvelopeSize) + `</w:MaxEnvelopeSize>`)
	}
	if h.OperationTimeout > 0 {
		b.WriteString(`<w:OperationTimeout>` + FormatDuration(h.OperationTimeout) + `</w:OperationTimeout>`)
	}
	b.WriteString(`<a:MessageID>` + Escape(h.MessageID) + `</a:MessageID>`)
	if h.Locale != "" {
		b.WriteString(`<w:Locale xml:lang="` + Escape(h.Locale) + `" s:mustUnderstand="false"/>`)
		b.WriteString(`<p:DataLocale xml:lang="` + Escape(h.Locale) + `" s:mustUnderstand="false"/>`)
	}
	b.WriteString(`<a:Action s:mustUnderstand="true">` + Escape(h.Action) + `</a:Action>`)
	b.WriteString(`<w:ResourceURI s:mustUnderstand="true">` + Escape(h.ResourceURI) + `</w:ResourceURI>`)
	if len(h.Selectors) > 0 {
		b.WriteString(`<w:SelectorSet>`)
		for _, s := range h.Selectors {
			b.WriteString(`<w:Selector Name="` + Escape(s.Name) + `">` + Escape(s.Value) + `</w:Selector>`)
		}
		b.WriteString(`</w:SelectorSet>`)
	}
	if len(h.Options) > 0 {
		b.WriteString(`<w:OptionSet>`)
		for _, o := range h.Options {
			b.WriteString(`<w:Option Name="` + Escape(o.Name) + `"`)
			if o.MustComply {
				b.WriteString(` MustComply="true"`)
			}
			b.WriteString(`>` + Escape(o.Value) + `</w:Option>`)
		}
		b.WriteString(`</w:OptionSet>`)
	}
	b.WriteString(`</s:Header><s:Body>` + body + `</s:Body></s:Envelope>`)
	return []byte(b.String())
}

// Escape escapes s for XML text and attribute values.
func Escape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// FormatDuration writes d as an xs:duration ("PT20.000S").
func FormatDuration(d time.Duration) string {
	return "PT" + strconv.FormatFloat(d.Seconds(), 'f', 3, 64) + "S"
}

// Response is a decoded reply envelope.
type Response struct {
	// Action and RelatesTo are the reply's a:Action and a:RelatesTo.
	Action, RelatesTo string
	// Body is the raw inner XML of s:Body (its prefixes are declared on the
	// envelope: use DecodeBody to decode it).
	Body []byte
	// Envelope is the whole reply.
	Envelope []byte
}

// DecodeBody decodes s:Body into v with encoding/xml, namespaces resolved
// as the server declared them. v's field tags are relative to s:Body, e.g.
// `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell CommandResponse>CommandId"`.
func (r *Response) DecodeBody(v any) error {
	x := struct {
		XMLName xml.Name `xml:"http://www.w3.org/2003/05/soap-envelope Envelope"`
		Body    bodyInto `xml:"http://www.w3.org/2003/05/soap-envelope Body"`
	}{Body: bodyInto{v}}
	return xml.Unmarshal(r.Envelope, &x)
}

// bodyInto decodes the element it is given into v.
type bodyInto struct{ v any }

// UnmarshalXML implements xml.Unmarshaler.
func (b bodyInto) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	return d.DecodeElement(b.v, &start)
}

type xmlResponse struct {
	XMLName xml.Name `xml:"http://www.w3.org/2003/05/soap-envelope Envelope"`
	Header  struct {
		Action    string `xml:"http://schemas.xmlsoap.org/ws/2004/08/addressing Action"`
		RelatesTo string `xml:"http://schemas.xmlsoap.org/ws/2004/08/addressing RelatesTo"`
	} `xml:"http://www.w3.org/2003/05/soap-envelope Header"`
	Body struct {
		Inner []byte    `xml:",innerxml"`
		Fault *xmlFault `xml:"http://www.w3.org/2003/05/soap-envelope Fault"`
	} `xml:"http://www.w3.org/2003/05/soap-envelope Body"`
}

type xmlFault struct {
	Code    string `xml:"http://www.w3.org/2003/05/soap-envelope Code>Value"`
	Subcode string `xml:"http://www.w3.org/2003/05/soap-envelope Code>Subcode>Value"`
	Reason  []struct {
		Text string `xml:",chardata"`
	} `xml:"http://www.w3.org/2003/05/soap-envelope Reason>Text"`
	// encoding/xml matches every element of an a>b path against the one
	// namespace of the tag, so elements of mixed namespaces need a struct
	// per level.
	Detail struct {
		WSManFault *struct {
			Code    string `xml:"Code,attr"`
			Message string `xml:"http://schemas.microsoft.com/wbem/wsman/1/wsmanfault Message"`
		} `xml:"http://schemas.microsoft.com/wbem/wsman/1/wsmanfault WSManFault"`
	} `xml:"http://www.w3.org/2003/05/soap-envelope Detail"`
}

// ParseResponse decodes a reply envelope; a SOAP fault in it comes back as
// *FaultError. It never panics, whatever the input (FuzzParseResponse).
func ParseResponse(envelope []byte) (*Response, error) {
	var x xmlResponse
	if err := xml.NewDecoder(bytes.NewReader(envelope)).Decode(&x); err != nil {
		return nil, fmt.Errorf("wsman: decode reply: %w", err)
	}
	if x.Body.Fault != nil {
		return nil, x.Body.Fault.toError("")
	}
	return &Response{
		Action:    strings.TrimSpace(x.Header.Action),
		RelatesTo: strings.TrimSpace(x.Header.RelatesTo),
		Body:      x.Body.Inner,
		Envelope:  envelope,
	}, nil
}

// parseFault decodes the body of an HTTP 500.
func parseFault(envelope []byte, action string) error {
	var x xmlResponse
	if err := xml.NewDecoder(bytes.NewReader(envelope)).Decode(&x); err != nil || x.Body.Fault == nil {
		return &HTTPError{StatusCode: 500, Snippet: "undecodable SOAP fault"}
	}
	return x.Body.Fault.toError(action)
}

func (f *xmlFault) toError(action string) *FaultError {
	e := &FaultError{Code: strings.TrimSpace(f.Code), Subcode: strings.TrimSpace(f.Subcode), Action: action}
	if len(f.Reason) > 0 {
		e.Reason = strings.TrimSpace(f.Reason[0].Text)
	}
	if wf := f.Detail.WSManFault; wf != nil {
		if n, err := strconv.ParseUint(strings.TrimSpace(wf.Code), 10, 32); err == nil {
			e.WSManCode = uint32(n)
		}
		if e.Reason == "" {
			e.Reason = strings.TrimSpace(wf.Message)
		}
	}
	return e
}
