package wsman

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// XML namespaces of WS-Management as Windows writes them.
const (
	nsSOAP      = "http://www.w3.org/2003/05/soap-envelope"
	nsAddr      = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
	nsWSMan     = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"
	nsMSWSMan   = "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd"
	nsShell     = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell"
	nsTransfer  = "http://schemas.xmlsoap.org/ws/2004/09/transfer"
	nsFault     = "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault"
	nsPS        = "http://schemas.microsoft.com/powershell"
	nsXML       = "http://www.w3.org/XML/1998/namespace"
	anonymousTo = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"
	actionFault = "http://schemas.dmtf.org/wbem/wsman/1/wsman/fault"
)

type xmlLang struct {
	Lang string `xml:"http://www.w3.org/XML/1998/namespace lang,attr"`
}

type xmlNamed struct {
	Name       string `xml:"Name,attr"`
	MustComply string `xml:"MustComply,attr"`
	Value      string `xml:",chardata"`
}

type xmlStream struct {
	Name      string `xml:"Name,attr"`
	CommandID string `xml:"CommandId,attr"`
	End       string `xml:"End,attr"`
	Value     string `xml:",chardata"`
}

// xmlEnvelope is the request envelope as encoding/xml reads it: elements are
// matched by namespace URI, so any prefixes the client chose work.
type xmlEnvelope struct {
	XMLName xml.Name `xml:"http://www.w3.org/2003/05/soap-envelope Envelope"`
	Header  struct {
		To               string     `xml:"http://schemas.xmlsoap.org/ws/2004/08/addressing To"`
		Action           string     `xml:"http://schemas.xmlsoap.org/ws/2004/08/addressing Action"`
		MessageID        string     `xml:"http://schemas.xmlsoap.org/ws/2004/08/addressing MessageID"`
		ResourceURI      string     `xml:"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd ResourceURI"`
		MaxEnvelopeSize  string     `xml:"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd MaxEnvelopeSize"`
		OperationTimeout string     `xml:"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd OperationTimeout"`
		Locale           xmlLang    `xml:"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd Locale"`
		DataLocale       xmlLang    `xml:"http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd DataLocale"`
		Selectors        []xmlNamed `xml:"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd SelectorSet>Selector"`
		Options          []xmlNamed `xml:"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd OptionSet>Option"`
	} `xml:"http://www.w3.org/2003/05/soap-envelope Header"`
	Body struct {
		Inner []byte `xml:",innerxml"`
		Shell *struct {
			ShellID       string `xml:"ShellId,attr"`
			Name          string `xml:"Name,attr"`
			InputStreams  string `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell InputStreams"`
			OutputStreams string `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell OutputStreams"`
			CreationXML   *struct {
				Value string `xml:",chardata"`
			} `xml:"http://schemas.microsoft.com/powershell creationXml"`
		} `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell Shell"`
		CommandLine *struct {
			CommandID string   `xml:"CommandId,attr"`
			Command   string   `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell Command"`
			Arguments []string `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell Arguments"`
		} `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell CommandLine"`
		Send *struct {
			Streams []xmlStream `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell Stream"`
		} `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell Send"`
		Receive *struct {
			SequenceID    string `xml:"SequenceId,attr"`
			DesiredStream *struct {
				CommandID string `xml:"CommandId,attr"`
				Value     string `xml:",chardata"`
			} `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell DesiredStream"`
		} `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell Receive"`
		Signal *struct {
			CommandID string `xml:"CommandId,attr"`
			Code      string `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell Code"`
		} `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell Signal"`
	} `xml:"http://www.w3.org/2003/05/soap-envelope Body"`
}

// request is a decoded SOAP request: the header plus whichever body element
// its action carries.
type request struct {
	Header
	env *xmlEnvelope
}

// decodeRequest parses a SOAP request envelope. It never panics, whatever
// the input (FuzzDecodeRequest).
func decodeRequest(body []byte) (*request, error) {
	var env xmlEnvelope
	dec := xml.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&env); err != nil {
		return nil, fmt.Errorf("decode SOAP envelope: %w", err)
	}
	h := env.Header
	r := &request{env: &env, Header: Header{
		Action:      strings.TrimSpace(h.Action),
		To:          strings.TrimSpace(h.To),
		MessageID:   strings.TrimSpace(h.MessageID),
		ResourceURI: strings.TrimSpace(h.ResourceURI),
		Locale:      h.Locale.Lang,
		DataLocale:  h.DataLocale.Lang,
	}}
	if r.Action == "" {
		return nil, fmt.Errorf("decode SOAP envelope: no a:Action header")
	}
	if s := strings.TrimSpace(h.MaxEnvelopeSize); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("decode SOAP envelope: bad w:MaxEnvelopeSize %q", s)
		}
		r.MaxEnvelopeSize = n
	}
	if s := strings.TrimSpace(h.OperationTimeout); s != "" {
		d, err := ParseDuration(s)
		if err != nil {
			return nil, fmt.Errorf("decode SOAP envelope: bad w:OperationTimeout: %w", err)
		}
		r.OperationTimeout = d
	}
	for _, s := range h.Selectors {
		if r.Selectors == nil {
			r.Selectors = map[string]string{}
		}
		v := strings.TrimSpace(s.Value)
		r.Selectors[s.Name] = v
		if strings.EqualFold(s.Name, "ShellId") {
			r.ShellID = v
		}
	}
	for _, o := range h.Options {
		r.Options = append(r.Options, Option{Name: o.Name, Value: o.Value, MustComply: strings.EqualFold(o.MustComply, "true")})
	}
	return r, nil
}

// ParseDuration parses the xs:duration subset WS-Management uses for
// OperationTimeout ("PT60S", "PT0.500S", "PT1M30S", "P1DT2H").
func ParseDuration(s string) (time.Duration, error) {
	orig := s
	if !strings.HasPrefix(s, "P") {
		return 0, fmt.Errorf("duration %q does not start with P", orig)
	}
	s = s[1:]
	var total float64
	inTime := false
	for s != "" {
		if s[0] == 'T' {
			inTime = true
			s = s[1:]
			continue
		}
		i := strings.IndexAny(s, "YMWDHS")
		if i <= 0 {
			return 0, fmt.Errorf("bad duration %q", orig)
		}
		v, err := strconv.ParseFloat(s[:i], 64)
		if err != nil || v < 0 {
			return 0, fmt.Errorf("bad duration %q", orig)
		}
		var unit float64
		switch s[i] {
		case 'Y':
			unit = 365 * 86400
		case 'M':
			unit = 60
			if !inTime {
				unit = 30 * 86400
			}
		case 'W':
			unit = 7 * 86400
		case 'D':
			unit = 86400
		case 'H':
			unit = 3600
		case 'S':
			unit = 1
		}
		total += v * unit
		s = s[i+1:]
	}
	if total > float64(1<<62)/float64(time.Second) {
		return 0, fmt.Errorf("duration %q too long", orig)
	}
	return time.Duration(total * float64(time.Second)), nil
}

// FormatDuration writes d as an xs:duration, the inverse of ParseDuration.
func FormatDuration(d time.Duration) string {
	return "PT" + strconv.FormatFloat(d.Seconds(), 'f', 3, 64) + "S"
}

func fields(s string) []string { return strings.Fields(s) }

// esc escapes s for XML text or attribute content.
func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// envelopeXML writes a reply envelope with Windows' prefixes.
func envelopeXML(action, messageID, relatesTo, body string) []byte {
	var b strings.Builder
	b.WriteString(`<s:Envelope xml:lang="en-US" xmlns:s="` + nsSOAP + `" xmlns:a="` + nsAddr +
		`" xmlns:x="` + nsTransfer + `" xmlns:w="` + nsWSMan + `" xmlns:rsp="` + nsShell +
		`" xmlns:p="` + nsMSWSMan + `"><s:Header>`)
	b.WriteString(`<a:Action>` + esc(action) + `</a:Action>`)
	b.WriteString(`<a:MessageID>` + esc(messageID) + `</a:MessageID>`)
	b.WriteString(`<a:To>` + anonymousTo + `</a:To>`)
	if relatesTo != "" {
		b.WriteString(`<a:RelatesTo>` + esc(relatesTo) + `</a:RelatesTo>`)
	}
	b.WriteString(`</s:Header><s:Body>`)
	b.WriteString(body)
	b.WriteString(`</s:Body></s:Envelope>`)
	return []byte(b.String())
}

// faultXML is the body of a SOAP fault reply.
func faultXML(f *Fault, machine string) string {
	var b strings.Builder
	b.WriteString(`<s:Fault><s:Code><s:Value>` + esc(f.Code) + `</s:Value>`)
	if f.Subcode != "" {
		b.WriteString(`<s:Subcode><s:Value>` + esc(f.Subcode) + `</s:Value></s:Subcode>`)
	}
	b.WriteString(`</s:Code><s:Reason><s:Text xml:lang="en-US">` + esc(f.Reason) + `</s:Text></s:Reason>`)
	if f.WSManCode != 0 {
		b.WriteString(`<s:Detail><f:WSManFault xmlns:f="` + nsFault + `" Code="` + strconv.FormatUint(uint64(f.WSManCode), 10) +
			`" Machine="` + esc(machine) + `"><f:Message>` + esc(f.Reason) + `</f:Message></f:WSManFault></s:Detail>`)
	}
	b.WriteString(`</s:Fault>`)
	return b.String()
}
