package wsman

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// frame builds a sealed body by hand, independently of seal().
func frame(sig, sealed []byte) []byte {
	var b bytes.Buffer
	b.WriteString("--Encrypted Boundary\r\n\tContent-Type: application/HTTP-SPNEGO-session-encrypted\r\n")
	b.WriteString("\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=" + strconv.Itoa(len(sealed)) + "\r\n")
	b.WriteString("--Encrypted Boundary\r\n\tContent-Type: application/octet-stream\r\n")
	b.Write(binary.LittleEndian.AppendUint32(nil, uint32(len(sig))))
	b.Write(sig)
	b.Write(sealed)
	b.WriteString("--Encrypted Boundary--\r\n")
	return b.Bytes()
}

var testSig = []byte("\x01\x00\x00\x00checksum\x00\x00\x00\x00")

func TestParseSealed(t *testing.T) {
	one := frame(testSig, []byte("sealed\r\n--Encrypted Boundary\r\nbytes")) // Length=35
	tests := map[string]struct {
		body    []byte
		want    []string
		wantErr bool
	}{
		"one part, boundary inside the data": {body: one, want: []string{"sealed\r\n--Encrypted Boundary\r\nbytes"}},
		"two parts": {
			body: append(bytes.TrimSuffix(frame(testSig, []byte("ab")), []byte("--Encrypted Boundary--\r\n")), frame(testSig, []byte("c"))...),
			want: []string{"ab", "c"},
		},
		"empty payload":        {body: frame(testSig, nil), want: []string{""}},
		"empty body":           {body: nil, wantErr: true},
		"clear SOAP":           {body: []byte("<s:Envelope/>"), wantErr: true},
		"short signature":      {body: frame(testSig[:8], []byte("x")), wantErr: true},
		"length beyond body":   {body: bytes.Replace(one, []byte("Length=35"), []byte("Length=99"), 1), wantErr: true},
		"not soap inside":      {body: bytes.Replace(one, []byte("type=application/soap+xml"), []byte("type=text/html"), 1), wantErr: true},
		"other protocol":       {body: bytes.Replace(one, []byte("HTTP-SPNEGO"), []byte("HTTP-Kerberos"), 1), wantErr: true},
		"missing end boundary": {body: bytes.TrimSuffix(one, []byte("--Encrypted Boundary--\r\n")), wantErr: true},
		"trailing garbage":     {body: append(one, "junk"...), wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			parts, err := parseSealed(tc.body)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("parsed %d parts without error", len(parts))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range parts {
				if !bytes.Equal(p.sig, testSig) {
					t.Errorf("signature %q", p.sig)
				}
				got = append(got, string(p.sealed))
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("parts mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// FuzzParseSealed checks that the sealed-reply parser never panics and
// returns only parts inside the input with 16-byte signatures; unseal must
// not panic on them either (bodgit's Unwrap slices the signature).
func FuzzParseSealed(f *testing.F) {
	f.Add(frame(testSig, []byte("payload")))
	f.Add(frame(testSig, nil))
	f.Add(frame(testSig[:4], []byte("x")))
	f.Add([]byte("--Encrypted Boundary\r\n\tOriginalContent: type=application/soap+xml;Length=-1\r\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		parts, err := parseSealed(body)
		if err != nil {
			return
		}
		n := 0
		for _, p := range parts {
			if len(p.sig) != 16 {
				t.Fatalf("signature of %d bytes", len(p.sig))
			}
			n += len(p.sig) + len(p.sealed)
		}
		if n > len(body) {
			t.Fatalf("parts hold %d bytes of %d", n, len(body))
		}
		if _, err := unseal(nil, body); !errors.Is(err, ErrSealingRefused) {
			t.Fatalf("unseal without a session: %v", err)
		}
	})
}

const faultEnvelope = `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"><s:Header><a:Action>http://schemas.dmtf.org/wbem/wsman/1/wsman/fault</a:Action><a:RelatesTo>uuid:1</a:RelatesTo></s:Header><s:Body><s:Fault><s:Code><s:Value>s:Receiver</s:Value><s:Subcode><s:Value>w:TimedOut</s:Value></s:Subcode></s:Code><s:Reason><s:Text xml:lang="en-US">The WS-Management service cannot complete the operation within the time specified in OperationTimeout.</s:Text></s:Reason><s:Detail><f:WSManFault xmlns:f="http://schemas.microsoft.com/wbem/wsman/1/wsmanfault" Code="2150858793" Machine="ercs01"><f:Message>m</f:Message></f:WSManFault></s:Detail></s:Fault></s:Body></s:Envelope>`

func TestParseResponseFault(t *testing.T) {
	_, err := ParseResponse([]byte(faultEnvelope))
	want := &FaultError{Code: "s:Receiver", Subcode: "w:TimedOut", WSManCode: 2150858793,
		Reason: "The WS-Management service cannot complete the operation within the time specified in OperationTimeout."}
	var got *FaultError
	if !errors.As(err, &got) {
		t.Fatalf("err = %v, want *FaultError", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("fault mismatch (-want +got):\n%s", diff)
	}
	if !IsTimedOut(err) || !strings.Contains(err.Error(), "OperationTimeout") {
		t.Errorf("%v: not recognised as a timed-out poll", err)
	}
}

func TestEnvelope(t *testing.T) {
	h := Header{
		To: "http://10.0.0.5:5985/wsman", Action: ActionCreate, ResourceURI: PowerShellResourceURI("PrivilegedEndpoint"),
		MessageID: "uuid:X", OperationTimeout: 20 * time.Second, MaxEnvelopeSize: 153600, Locale: "en-US",
		Selectors: []Selector{{Name: "ShellId", Value: "a<b"}},
		Options:   []Option{{Name: "protocolversion", Value: "2.3", MustComply: true}, {Name: "x", Value: "&"}},
	}
	env := string(Envelope(h, "<rsp:Shell/>"))
	for _, want := range []string{
		`<w:OperationTimeout>PT20.000S</w:OperationTimeout>`,
		`<w:Selector Name="ShellId">a&lt;b</w:Selector>`,
		`<w:Option Name="protocolversion" MustComply="true">2.3</w:Option><w:Option Name="x">&amp;</w:Option>`,
		`<w:Locale xml:lang="en-US" s:mustUnderstand="false"/><p:DataLocale xml:lang="en-US" s:mustUnderstand="false"/>`,
		`<s:Body><rsp:Shell/></s:Body>`,
	} {
		if !strings.Contains(env, want) {
			t.Errorf("envelope lacks %s:\n%s", want, env)
		}
	}
	if id := NewMessageID(); len(id) != len("uuid:")+36 || id == NewMessageID() || id[5+14] != '4' {
		t.Errorf("NewMessageID() = %q", id)
	}
}

// FuzzParseResponse checks that the reply decoder never panics, and that
// a reply it accepts decodes again through DecodeBody.
func FuzzParseResponse(f *testing.F) {
	f.Add(faultEnvelope)
	f.Add(`<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Header/><s:Body><rsp:ReceiveResponse xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell"><rsp:Stream Name="stdout" CommandId="C">aGk=</rsp:Stream><rsp:CommandState CommandId="C" State="http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Done"><rsp:ExitCode>0</rsp:ExitCode></rsp:CommandState></rsp:ReceiveResponse></s:Body></s:Envelope>`)
	f.Add(`<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><s:Fault/></s:Body></s:Envelope>`)
	f.Fuzz(func(t *testing.T, env string) {
		r, err := ParseResponse([]byte(env))
		if err != nil {
			return
		}
		if _, err := parseReceived(r); err != nil && !strings.HasPrefix(err.Error(), "wsman: Receive") {
			t.Fatalf("unexpected error shape: %v", err)
		}
	})
}

func TestShellIDFromCreateReply(t *testing.T) {
	const head = `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:x="http://schemas.xmlsoap.org/ws/2004/09/transfer" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell"><s:Header/><s:Body>`
	const created = `<x:ResourceCreated><a:Address>http://h/wsman</a:Address><a:ReferenceParameters><w:ResourceURI>u</w:ResourceURI><w:SelectorSet><w:Selector Name="ShellId">FROM-EPR</w:Selector></w:SelectorSet></a:ReferenceParameters></x:ResourceCreated>`
	tests := map[string]struct {
		body, want string
	}{
		"rsp:Shell":            {body: created + `<rsp:Shell><rsp:ShellId>FROM-SHELL</rsp:ShellId></rsp:Shell>`, want: "FROM-SHELL"},
		"only ResourceCreated": {body: created, want: "FROM-EPR"},
		"neither":              {body: `<rsp:Shell/>`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r, err := ParseResponse([]byte(head + tc.body + `</s:Body></s:Envelope>`))
			if err != nil {
				t.Fatal(err)
			}
			got, err := shellID(r)
			if (err != nil) != (tc.want == "") || got != tc.want {
				t.Fatalf("shellID = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}
