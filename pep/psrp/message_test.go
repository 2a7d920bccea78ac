package psrp

import (
	"encoding/hex"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func mustGUID(t testing.TB, s string) GUID {
	t.Helper()
	g, err := ParseGUID(s)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestGUIDDotNetOrder(t *testing.T) {
	// .NET's Guid.ToByteArray writes Data1, Data2 and Data3 little-endian
	// and Data4 as it is ([MS-DTYP] 2.3.4.2).
	g := mustGUID(t, "{00112233-4455-6677-8899-AABBCCDDEEFF}")
	b := g.DotNetBytes()
	if got, want := hex.EncodeToString(b[:]), "33221100554477668899aabbccddeeff"; got != want {
		t.Fatalf("DotNetBytes = %s, want %s", got, want)
	}
	if back := GUIDFromDotNetBytes(b[:]); back != g {
		t.Fatalf("GUIDFromDotNetBytes = %v, want %v", back, g)
	}
	if got, want := g.String(), "00112233-4455-6677-8899-aabbccddeeff"; got != want {
		t.Errorf("String = %s, want %s", got, want)
	}
	if got, want := g.Upper(), "00112233-4455-6677-8899-AABBCCDDEEFF"; got != want {
		t.Errorf("Upper = %s, want %s", got, want)
	}
}

func TestParseGUIDRejects(t *testing.T) {
	for _, s := range []string{"", "00112233-4455-6677-8899-AABBCCDDEEF", "00112233x4455-6677-8899-AABBCCDDEEFF", "0011223g-4455-6677-8899-AABBCCDDEEFF"} {
		if _, err := ParseGUID(s); err == nil {
			t.Errorf("ParseGUID(%q) succeeded", s)
		}
	}
}

func TestNewGUIDIsVersion4(t *testing.T) {
	g, err := NewGUID(nil)
	if err != nil {
		t.Fatal(err)
	}
	if g[6]>>4 != 4 || g[8]>>6 != 2 {
		t.Fatalf("%v is not an RFC 4122 version 4 GUID", g)
	}
}

func TestMessageWireForm(t *testing.T) {
	rpid := mustGUID(t, "00112233-4455-6677-8899-aabbccddeeff")
	m := Message{Destination: ToServer, Type: MsgSessionCapability, RPID: rpid, Data: []byte("<S></S>")}
	got, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	want, _ := hex.DecodeString("02000000" + "02000100" +
		"33221100554477668899aabbccddeeff" + "00000000000000000000000000000000")
	want = append(want, "<S></S>"...)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("wire form (-want +got):\n%s", diff)
	}
	back, err := ParseMessage(got)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(m, back); diff != "" {
		t.Errorf("parsed (-want +got):\n%s", diff)
	}
}

func TestParseMessageStripsBOM(t *testing.T) {
	// Windows servers put a UTF-8 byte-order mark in front of the CLIXML.
	b, _ := Message{Destination: ToClient, Type: MsgRunspacePoolState, Data: append([]byte{0xEF, 0xBB, 0xBF}, "<Nil />"...)}.MarshalBinary()
	m, err := ParseMessage(b)
	if err != nil {
		t.Fatal(err)
	}
	if string(m.Data) != "<Nil />" {
		t.Fatalf("Data = %q, want %q", m.Data, "<Nil />")
	}
}

func TestParseMessageRejects(t *testing.T) {
	tests := map[string][]byte{
		"short":               make([]byte, MessageHeaderLen-1),
		"unknown destination": make([]byte, MessageHeaderLen),
	}
	for name, b := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := ParseMessage(b); err == nil {
				t.Fatal("ParseMessage succeeded")
			}
		})
	}
}

func TestMessageTypeString(t *testing.T) {
	tests := map[MessageType]string{
		MsgCreatePipeline:  "CREATE_PIPELINE",
		MsgPipelineState:   "PIPELINE_STATE",
		MessageType(0x123): "MessageType(0x00000123)",
	}
	for mt, want := range tests {
		if got := mt.String(); got != want {
			t.Errorf("%#x.String() = %q, want %q", uint32(mt), got, want)
		}
	}
}
