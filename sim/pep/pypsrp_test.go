package pep

import (
	"encoding/base64"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/runbook-dev/runbook/pep/psrp"
	"github.com/runbook-dev/runbook/wsman"
)

// pypsrpClient posts envelopes laid out as pypsrp's WSMan._create_header
// writes them: its prefixes (wsa, wsman, wsmv), its header order, a
// wsmv:SessionId, and an OptionSet marked s:mustUnderstand="true".
type pypsrpClient struct {
	t        *testing.T
	url, uri string
}

func (c pypsrpClient) post(action, shellID string, options [][3]string, body string) *wsman.Response {
	c.t.Helper()
	var b strings.Builder
	b.WriteString(`<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing"` +
		` xmlns:wsman="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" xmlns:wsmv="http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd"` +
		` xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell"><s:Header>`)
	b.WriteString(`<wsa:Action s:mustUnderstand="true">` + action + `</wsa:Action>`)
	b.WriteString(`<wsmv:DataLocale s:mustUnderstand="false" xml:lang="en-US" />`)
	b.WriteString(`<wsman:Locale s:mustUnderstand="false" xml:lang="en-US" />`)
	b.WriteString(`<wsman:MaxEnvelopeSize s:mustUnderstand="true">153600</wsman:MaxEnvelopeSize>`)
	b.WriteString(`<wsa:MessageID>uuid:` + wsman.NewUUID() + `</wsa:MessageID>`)
	b.WriteString(`<wsman:OperationTimeout>PT20S</wsman:OperationTimeout>`)
	b.WriteString(`<wsa:ReplyTo><wsa:Address s:mustUnderstand="true">http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</wsa:Address></wsa:ReplyTo>`)
	b.WriteString(`<wsman:ResourceURI s:mustUnderstand="true">` + c.uri + `</wsman:ResourceURI>`)
	b.WriteString(`<wsmv:SessionId s:mustUnderstand="false">uuid:3C1B4E59-A4D6-4E5D-8F0B-1A2B3C4D5E6F</wsmv:SessionId>`)
	b.WriteString(`<wsa:To>` + c.url + `</wsa:To>`)
	if len(options) > 0 {
		b.WriteString(`<wsman:OptionSet s:mustUnderstand="true">`)
		for _, o := range options {
			b.WriteString(`<wsman:Option Name="` + o[0] + `"` + o[2] + `>` + o[1] + `</wsman:Option>`)
		}
		b.WriteString(`</wsman:OptionSet>`)
	}
	if shellID != "" {
		b.WriteString(`<wsman:SelectorSet><wsman:Selector Name="ShellId">` + shellID + `</wsman:Selector></wsman:SelectorSet>`)
	}
	b.WriteString(`</s:Header><s:Body>` + body + `</s:Body></s:Envelope>`)
	req, _ := http.NewRequest(http.MethodPost, c.url, strings.NewReader(b.String()))
	req.Header.Set("Content-Type", "application/soap+xml;charset=UTF-8")
	req.Header.Set("User-Agent", "Python PSRP Client")
	req.SetBasicAuth(rawUser, rawPass)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	reply, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		c.t.Fatalf("%s: HTTP %d: %s", action[strings.LastIndex(action, "/")+1:], resp.StatusCode, reply)
	}
	r, err := wsman.ParseResponse(reply)
	if err != nil {
		c.t.Fatal(err)
	}
	return r
}

// receiveReply reads one Receive reply's stdout fragments and whether the
// command is done.
func receiveReply(t *testing.T, r *wsman.Response) (data [][]byte, done bool) {
	t.Helper()
	var x struct {
		Streams []struct {
			Value string `xml:",chardata"`
		} `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell ReceiveResponse>Stream"`
		State struct {
			State string `xml:"State,attr"`
		} `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell ReceiveResponse>CommandState"`
	}
	if err := r.DecodeBody(&x); err != nil {
		t.Fatal(err)
	}
	for _, s := range x.Streams {
		b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s.Value))
		if err != nil {
			t.Fatal(err)
		}
		data = append(data, b)
	}
	return data, x.State.State == wsman.StateDone
}

// TestPypsrpWire drives the endpoint with the requests pypsrp sends to open
// a RunspacePool, run Get-Command and close, including the Receive option
// WSMAN_CMDSHELL_OPTION_KEEPALIVE in a must-understand OptionSet and the
// protocolversion option with MustComply.
func TestPypsrpWire(t *testing.T) {
	ep, err := Start(Config{}, rawWSMan())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ep.Close() })
	c := pypsrpClient{t: t, url: ep.WSMan.URL(), uri: ep.ResourceURI()}
	const ns = "http://schemas.xmlsoap.org/ws/2004/09/transfer/"
	const shell = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/"

	r := &raw{t: t}
	r.rpid, _ = psrp.NewGUID(nil)
	frags := append(r.message(psrp.MsgSessionCapability, psrp.NilGUID, psrp.DefaultCapability.Object()),
		r.message(psrp.MsgInitRunspacePool, psrp.NilGUID, psrp.InitPool{MinRunspaces: 1, MaxRunspaces: 1}.Object())...)
	creation := base64.StdEncoding.EncodeToString(psrp.Pack(frags, 1<<20)[0])
	created := c.post(ns+"Create", "", [][3]string{{"protocolversion", "2.3", ` MustComply="true"`}},
		`<rsp:Shell ShellId="`+r.rpid.Upper()+`"><rsp:InputStreams>stdin pr</rsp:InputStreams><rsp:OutputStreams>stdout</rsp:OutputStreams>`+
			`<creationXml xmlns="http://schemas.microsoft.com/powershell">`+creation+`</creationXml></rsp:Shell>`)
	var sh struct {
		ID string `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell Shell>ShellId"`
	}
	if err := created.DecodeBody(&sh); err != nil || sh.ID == "" {
		t.Fatalf("Create reply: %+v %v", sh, err)
	}
	keepAlive := [][3]string{{"WSMAN_CMDSHELL_OPTION_KEEPALIVE", "True", ""}}
	for opened := false; !opened; {
		data, _ := receiveReply(t, c.post(shell+"Receive", sh.ID, keepAlive, `<rsp:Receive><rsp:DesiredStream>stdout</rsp:DesiredStream></rsp:Receive>`))
		for _, d := range data {
			msgs, err := r.in.Feed(d)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range msgs {
				pm, _ := psrp.ParseMessage(m)
				opened = opened || pm.Type == psrp.MsgRunspacePoolState
			}
		}
	}

	pid, _ := psrp.NewGUID(nil)
	cp := r.message(psrp.MsgCreatePipeline, pid, command("Get-Command", psrp.Argument{Name: "Name", Value: "Get-Command"}).Object())
	c.post(shell+"Command", sh.ID, nil, `<rsp:CommandLine CommandId="`+pid.Upper()+`"><rsp:Command></rsp:Command><rsp:Arguments>`+
		base64.StdEncoding.EncodeToString(psrp.Pack(cp, 1<<20)[0])+`</rsp:Arguments></rsp:CommandLine>`)
	var in psrp.Defragmenter
	var types []psrp.MessageType
	for done := false; !done; {
		var data [][]byte
		data, done = receiveReply(t, c.post(shell+"Receive", sh.ID, keepAlive,
			`<rsp:Receive><rsp:DesiredStream CommandId="`+pid.Upper()+`">stdout</rsp:DesiredStream></rsp:Receive>`))
		for _, d := range data {
			msgs, err := in.Feed(d)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range msgs {
				pm, _ := psrp.ParseMessage(m)
				types = append(types, pm.Type)
			}
		}
	}
	if len(types) != 2 || types[0] != psrp.MsgPipelineOutput || types[1] != psrp.MsgPipelineState {
		t.Errorf("pipeline messages %v, want PIPELINE_OUTPUT then PIPELINE_STATE", types)
	}
	c.post(shell+"Signal", sh.ID, nil, `<rsp:Signal CommandId="`+pid.Upper()+`"><rsp:Code>`+wsman.SignalTerminate+`</rsp:Code></rsp:Signal>`)
	c.post(ns+"Delete", sh.ID, nil, "")
	if n := ep.PEP.State().Sessions; n != 0 {
		t.Errorf("%d sessions left", n)
	}
}
