package psrp

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// The decoders face bytes from the network: they must never panic or hang,
// and what they accept must re-encode to something they accept again.

func FuzzFragments(f *testing.F) {
	fr := Fragmenter{MaxFragment: FragmentHeaderLen + 5}
	var seed []byte
	for _, fg := range fr.Fragment([]byte("hello, fragments")) {
		seed = fg.AppendBinary(seed)
	}
	f.Add(seed)
	f.Add(Fragment{ObjectID: 1, Start: true, End: true}.AppendBinary(nil))
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0xFF, 0xFF, 0xFF, 0xFF})
	f.Fuzz(func(t *testing.T, b []byte) {
		frags, err := ParseFragments(b)
		if err == nil {
			var again []byte
			for _, fg := range frags {
				again = fg.AppendBinary(again)
			}
			if !bytes.Equal(again, b) {
				t.Fatalf("fragments did not re-encode to their input")
			}
		}
		d := Defragmenter{MaxMessage: 1 << 16, MaxPending: 8}
		msgs, _ := d.Feed(b)
		for _, m := range msgs {
			if len(m) > 1<<16 {
				t.Fatalf("message of %d bytes beyond MaxMessage", len(m))
			}
		}
		if d.Pending() > 8 {
			t.Fatalf("%d objects pending beyond MaxPending", d.Pending())
		}
	})
}

func FuzzMessage(f *testing.F) {
	m, _ := Message{Destination: ToServer, Type: MsgCreatePipeline, RPID: GUID{1}, PID: GUID{2}, Data: []byte("<S>x</S>")}.MarshalBinary()
	f.Add(m)
	f.Add(make([]byte, MessageHeaderLen))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseMessage(b)
		if err != nil {
			return
		}
		again, err := m.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		m2, err := ParseMessage(again)
		if err != nil {
			t.Fatalf("re-encoded message does not parse: %v", err)
		}
		if m2.Type != m.Type || m2.RPID != m.RPID || m2.PID != m.PID || !bytes.Equal(m2.Data, m.Data) {
			t.Fatal("message changed in a round trip")
		}
	})
}

func FuzzCLIXML(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.xml"))
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	for _, v := range []any{
		CreatePipeline{Commands: []Command{{Cmd: "Get-Command", Args: []Argument{{"Name", "Set-BmcCredential"}, {"", int32(1)}}}}}.Object(),
		InitPool{MinRunspaces: 1, MaxRunspaces: 1, ApplicationArguments: []DictEntry{{"k", "v"}}}.Object(),
		ErrorRecord{Message: "m", FullyQualifiedErrorId: "ScriptsNotAllowed", Category: ParserError}.StreamObject(),
		ProgressRecord{Activity: "a\nb"}.Object(),
	} {
		b, err := Marshal(v, nil)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`<Obj RefId="0"><MS><Ref N="a" RefId="0" /></MS></Obj>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := Unmarshal(b, nil)
		if err != nil {
			return
		}
		first, err := Marshal(v, nil)
		if err != nil {
			t.Fatalf("decoded value does not marshal: %v", err)
		}
		v2, err := Unmarshal(first, nil)
		if err != nil {
			t.Fatalf("our own output does not decode: %v\n%s", err, first)
		}
		second, err := Marshal(v2, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(first, second) {
			t.Fatalf("marshalling is not stable:\n%s\n%s", first, second)
		}
		// The typed readers accept or reject, never panic.
		_, _ = ParseCapability(v)
		_, _ = ParseInitPool(v)
		_, _ = ParsePoolState(v)
		_, _ = ParseCreatePipeline(v)
		_, _ = ParsePipelineState(v)
		_ = ParseProgressRecord(v)
		_ = ParseInformationalRecord(v)
		_ = ParseInformationRecord(v)
		if o, ok := v.(*Object); ok {
			_ = ParseErrorRecord(o)
		}
	})
}
