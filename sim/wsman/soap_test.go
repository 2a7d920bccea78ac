package wsman

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/masterzen/winrm"
)

const testURL = "http://127.0.0.1:5985/wsman"

// psrpCreate is a PowerShell remoting Create as pypsrp writes it (prefixes
// differ from masterzen's on purpose).
const psrpCreate = `<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope" xmlns:addr="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:wsman="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" xmlns:msw="http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd" xmlns:shl="http://schemas.microsoft.com/wbem/wsman/1/windows/shell">
<env:Header>
<addr:Action mustUnderstand="true">http://schemas.xmlsoap.org/ws/2004/09/transfer/Create</addr:Action>
<addr:MessageID>uuid:2C5A0A3E-1F5B-4E24-9D49-1B1E2A1C7D11</addr:MessageID>
<addr:To>http://10.0.0.5:5985/wsman</addr:To>
<wsman:ResourceURI mustUnderstand="true">http://schemas.microsoft.com/powershell/PrivilegedEndpoint</wsman:ResourceURI>
<wsman:MaxEnvelopeSize mustUnderstand="true">153600</wsman:MaxEnvelopeSize>
<wsman:OperationTimeout>PT20S</wsman:OperationTimeout>
<wsman:Locale xml:lang="en-US" mustUnderstand="false"/>
<msw:DataLocale xml:lang="en-GB" mustUnderstand="false"/>
<wsman:OptionSet><wsman:Option MustComply="true" Name="protocolversion">2.3</wsman:Option></wsman:OptionSet>
</env:Header>
<env:Body>
<shl:Shell ShellId="9A3A1D4E-8F3C-4C7B-A2B4-0E7F2C8D1A55" Name="Runspace1">
<shl:InputStreams>stdin pr</shl:InputStreams>
<shl:OutputStreams>stdout</shl:OutputStreams>
<creationXml xmlns="http://schemas.microsoft.com/powershell">AAAAAAAAAAE=</creationXml>
</shl:Shell>
</env:Body>
</env:Envelope>`

func TestDecodeRequest(t *testing.T) {
	params := winrm.NewParameters("PT20S", "en-US", 153600)
	tests := map[string]struct {
		envelope string
		want     Header
		check    func(t *testing.T, r *request)
	}{
		"masterzen create": {
			envelope: winrm.NewOpenShellRequest(testURL, params).String(),
			want: Header{
				Action: ActionCreate, To: testURL, ResourceURI: CmdResourceURI,
				Options:          []Option{{Name: "WINRS_NOPROFILE", Value: "FALSE"}, {Name: "WINRS_CODEPAGE", Value: "65001"}},
				OperationTimeout: 20 * time.Second, MaxEnvelopeSize: 153600, Locale: "en-US", DataLocale: "en-US",
			},
			check: func(t *testing.T, r *request) {
				sh := r.env.Body.Shell
				if sh == nil || sh.InputStreams != "stdin" || sh.OutputStreams != "stdout stderr" {
					t.Errorf("shell = %+v", sh)
				}
			},
		},
		"masterzen command with CDATA": {
			envelope: winrm.NewExecuteCommandRequest(testURL, "SHELL-1", `echo <a & b>`, []string{"x]y"}, params).String(),
			want: Header{
				Action: ActionCommand, To: testURL, ResourceURI: CmdResourceURI, ShellID: "SHELL-1",
				Selectors:        map[string]string{"ShellId": "SHELL-1"},
				Options:          []Option{{Name: "WINRS_CONSOLEMODE_STDIN", Value: "TRUE"}, {Name: "WINRS_SKIP_CMD_SHELL", Value: "FALSE"}},
				OperationTimeout: 20 * time.Second, MaxEnvelopeSize: 153600, Locale: "en-US", DataLocale: "en-US",
			},
			check: func(t *testing.T, r *request) {
				cl := r.env.Body.CommandLine
				if cl == nil || cl.Command != "echo <a & b>" || len(cl.Arguments) != 1 || cl.Arguments[0] != "x]y" {
					t.Errorf("command line = %+v", cl)
				}
			},
		},
		"masterzen send with end": {
			envelope: winrm.NewSendInputRequest(testURL, "S", "C", []byte("stdin data"), true, params).String(),
			want: Header{
				Action: ActionSend, To: testURL, ResourceURI: CmdResourceURI, ShellID: "S",
				Selectors:        map[string]string{"ShellId": "S"},
				OperationTimeout: 20 * time.Second, MaxEnvelopeSize: 153600, Locale: "en-US", DataLocale: "en-US",
			},
			check: func(t *testing.T, r *request) {
				st := r.env.Body.Send.Streams
				if len(st) != 1 || st[0].Name != "stdin" || st[0].CommandID != "C" || st[0].End != "true" || st[0].Value != "c3RkaW4gZGF0YQ==" {
					t.Errorf("streams = %+v", st)
				}
			},
		},
		"psrp create with other prefixes": {
			envelope: psrpCreate,
			want: Header{
				Action: ActionCreate, To: "http://10.0.0.5:5985/wsman", MessageID: "uuid:2C5A0A3E-1F5B-4E24-9D49-1B1E2A1C7D11",
				ResourceURI:      "http://schemas.microsoft.com/powershell/PrivilegedEndpoint",
				Options:          []Option{{Name: "protocolversion", Value: "2.3", MustComply: true}},
				OperationTimeout: 20 * time.Second, MaxEnvelopeSize: 153600, Locale: "en-US", DataLocale: "en-GB",
			},
			check: func(t *testing.T, r *request) {
				sh := r.env.Body.Shell
				if sh == nil || sh.ShellID != "9A3A1D4E-8F3C-4C7B-A2B4-0E7F2C8D1A55" || sh.Name != "Runspace1" || sh.CreationXML == nil || sh.CreationXML.Value != "AAAAAAAAAAE=" {
					t.Errorf("shell = %+v", sh)
				}
				if v, ok := r.Option("PROTOCOLVERSION"); !ok || v != "2.3" {
					t.Errorf("Option(protocolversion) = %q, %v", v, ok)
				}
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r, err := decodeRequest([]byte(tc.envelope))
			if err != nil {
				t.Fatal(err)
			}
			got := r.Header
			if tc.want.MessageID == "" {
				got.MessageID = "" // masterzen's are random
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("header mismatch (-want +got):\n%s", diff)
			}
			tc.check(t, r)
		})
	}
}

func TestDecodeRequestErrors(t *testing.T) {
	tests := map[string]string{
		"not xml":           "hello",
		"not an envelope":   `<a xmlns="urn:x"/>`,
		"no action":         `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Header/><s:Body/></s:Envelope>`,
		"bad timeout":       strings.Replace(psrpCreate, "PT20S", "20s", 1),
		"bad envelope size": strings.Replace(psrpCreate, ">153600<", ">-1<", 1),
	}
	for name, env := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := decodeRequest([]byte(env)); err == nil {
				t.Fatal("decoded without error")
			}
		})
	}
}

func TestParseDuration(t *testing.T) {
	tests := map[string]struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		"seconds":             {in: "PT60S", want: time.Minute},
		"fraction":            {in: "PT0.500S", want: 500 * time.Millisecond},
		"minutes seconds":     {in: "PT1M30S", want: 90 * time.Second},
		"days hours":          {in: "P1DT2H", want: 26 * time.Hour},
		"month is not minute": {in: "P1M", want: 30 * 24 * time.Hour},
		"no P":                {in: "T60S", wantErr: true},
		"no unit":             {in: "PT60", wantErr: true},
		"negative":            {in: "PT-1S", wantErr: true},
		"huge":                {in: "P99999999999Y", wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := ParseDuration(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("ParseDuration(%q) error = %v, wantErr %v", tc.in, err, tc.wantErr)
			}
			if got != tc.want {
				t.Errorf("ParseDuration(%q) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
	if d := 1500 * time.Millisecond; mustParse(t, FormatDuration(d)) != d {
		t.Errorf("FormatDuration does not round-trip")
	}
}

func mustParse(t *testing.T, s string) time.Duration {
	d, err := ParseDuration(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// FuzzDecodeRequest checks that the SOAP decoder never panics and that what
// it accepts has an action.
func FuzzDecodeRequest(f *testing.F) {
	params := winrm.NewParameters("PT20S", "en-US", 153600)
	f.Add(psrpCreate)
	f.Add(winrm.NewOpenShellRequest(testURL, params).String())
	f.Add(winrm.NewExecuteCommandRequest(testURL, "S", "echo hi", nil, params).String())
	f.Add(winrm.NewGetOutputRequest(testURL, "S", "C", "stdout stderr", params).String())
	f.Add(winrm.NewSignalRequest(testURL, "S", "C", params).String())
	f.Fuzz(func(t *testing.T, env string) {
		r, err := decodeRequest([]byte(env))
		if err == nil && r.Action == "" {
			t.Fatal("accepted a request without an action")
		}
	})
}

// FuzzParseSealedBody checks that the sealed-body parser never panics and
// only returns parts that lie inside the input.
func FuzzParseSealedBody(f *testing.F) {
	sig := []byte("\x01\x00\x00\x00sigsigsi\x00\x00\x00\x00")
	f.Add(sealedBody(sig, []byte("sealed payload"), soapContentType))
	two := append(sealedBody(sig, []byte("a"), soapContentType), sealedBody(sig, []byte("bc"), soapContentType)...)
	f.Add(two)
	f.Add([]byte(sealBoundary + "\r\n\tContent-Type: x\r\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		parts, err := parseSealedBody(body)
		if err != nil {
			return
		}
		total := 0
		for _, p := range parts {
			if len(p.sig) != 16 {
				t.Fatalf("signature of %d bytes", len(p.sig))
			}
			total += len(p.sealed) + len(p.sig)
		}
		if total > len(body) {
			t.Fatalf("parts hold %d bytes of a %d-byte body", total, len(body))
		}
	})
}
