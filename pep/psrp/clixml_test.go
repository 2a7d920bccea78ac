package psrp

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestStringEncoding(t *testing.T) {
	tests := map[string]struct {
		plain, encoded string
	}{
		"plain ascii":         {"Set-BmcCredential", "Set-BmcCredential"},
		"newline (spec)":      {"Order\nDetails", "Order_x000A_Details"},
		"crlf":                {"a\r\nb", "a_x000D__x000A_b"},
		"tab":                 {"a\tb", "a_x0009_b"},
		"underscore alone":    {"Order_Details", "Order_Details"},
		"escape lookalike":    {"Order_x0020_", "Order_x005F_x0020_"},
		"upper X lookalike":   {"_X0041_", "_x005F_X0041_"},
		"nul and del":         {"\x00\x7f", "_x0000__x007F_"},
		"c1 control":          {"\u0085", "_x0085_"},
		"non-bmp (surrogate)": {"\U0001F600", "_xD83D__xDE00_"},
		"bmp non-ascii kept":  {"grüße €", "grüße €"},
		"xml specials kept":   {`<&>"'`, `<&>"'`},
		"noncharacter":        {"\uFFFE", "_xFFFE_"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := EncodeString(tc.plain); got != tc.encoded {
				t.Errorf("EncodeString = %q, want %q", got, tc.encoded)
			}
			if got := DecodeString(tc.encoded); got != tc.plain {
				t.Errorf("DecodeString = %q, want %q", got, tc.plain)
			}
		})
	}
}

func TestDecodeStringLenient(t *testing.T) {
	tests := map[string]string{
		"Order_x005f_x0020_": "Order_x0020_", // lower-case hex, the spec's own example
		"_x0041":             "_x0041",       // unterminated: left alone
		"_x00G1_":            "_x00G1_",      // not hex
		"_xD83D_":            "\uFFFD",       // lone surrogate
		"_x0001F600_":        "\U0001F600",   // eight-digit form
		"__x0041_":           "_A",
	}
	for in, want := range tests {
		if got := DecodeString(in); got != want {
			t.Errorf("DecodeString(%q) = %q, want %q", in, got, want)
		}
	}
}

var epoch = time.Date(2026, 11, 28, 22, 0, 0, 123456700, time.UTC)

func TestCLIXMLRoundTrip(t *testing.T) {
	shared := &Object{ToString: "shared", Members: []Property{{"x", int32(1)}}}
	tests := map[string]struct {
		in   any
		want any // nil means in
		xml  string
	}{
		"nil":      {in: nil, xml: `<Nil />`},
		"string":   {in: "a<b>&c\n", xml: `<S>a&lt;b&gt;&amp;c_x000A_</S>`},
		"empty":    {in: "", xml: `<S></S>`},
		"bool":     {in: true, xml: `<B>true</B>`},
		"int32":    {in: int32(-5), xml: `<I32>-5</I32>`},
		"int fits": {in: 7, want: int32(7), xml: `<I32>7</I32>`},
		"int big":  {in: 1 << 40, want: int64(1 << 40), xml: `<I64>1099511627776</I64>`},
		"int64":    {in: int64(-1), xml: `<I64>-1</I64>`},
		"uint32":   {in: uint32(4000000000), xml: `<U32>4000000000</U32>`},
		"uint64":   {in: uint64(1 << 63), xml: `<U64>9223372036854775808</U64>`},
		"int16":    {in: int16(-3), xml: `<I16>-3</I16>`},
		"uint16":   {in: uint16(3), xml: `<U16>3</U16>`},
		"sbyte":    {in: int8(-8), xml: `<SB>-8</SB>`},
		"byte":     {in: uint8(8), xml: `<By>8</By>`},
		"double":   {in: 1.5, xml: `<Db>1.5</Db>`},
		"single":   {in: float32(0.25), xml: `<Sg>0.25</Sg>`},
		"char":     {in: Char('A'), xml: `<C>65</C>`},
		"bytes":    {in: []byte{1, 2, 3}, xml: `<BA>AQID</BA>`},
		"datetime": {in: epoch, xml: `<DT>2026-11-28T22:00:00.1234567Z</DT>`},
		"guid":     {in: GUID{0: 0xAB, 15: 1}, xml: `<G>ab000000-0000-0000-0000-000000000001</G>`},
		"version":  {in: Version("2.3"), xml: `<Version>2.3</Version>`},
		"unknown":  {in: Unknown{Tag: "TS", Text: "PT9.0269026S"}, xml: `<TS>PT9.0269026S</TS>`},
		"string array": {
			in:   []string{"a", "b"},
			want: &Object{TypeNames: []string{"System.String[]", "System.Array", "System.Object"}, ListTag: "LST", List: []any{"a", "b"}},
			xml:  `<Obj RefId="0"><TN RefId="0"><T>System.String[]</T><T>System.Array</T><T>System.Object</T></TN><LST><S>a</S><S>b</S></LST></Obj>`,
		},
		"enum": {
			in:  Enum(TypePSThreadOptions, "Default", 0),
			xml: `<Obj RefId="0"><TN RefId="0"><T>System.Management.Automation.Runspaces.PSThreadOptions</T><T>System.Enum</T><T>System.ValueType</T><T>System.Object</T></TN><ToString>Default</ToString><I32>0</I32></Obj>`,
		},
		"dictionary": {
			in:  &Object{TypeNames: []string{"System.Collections.Hashtable", "System.Object"}, Dict: []DictEntry{{Key: "k", Value: int32(1)}, {Key: int32(2), Value: nil}}},
			xml: `<Obj RefId="0"><TN RefId="0"><T>System.Collections.Hashtable</T><T>System.Object</T></TN><DCT><En><S N="Key">k</S><I32 N="Value">1</I32></En><En><I32 N="Key">2</I32><Nil N="Value" /></En></DCT></Obj>`,
		},
		"props and members": {
			in:  &Object{ToString: "x", Props: []Property{{"A", "a"}}, Members: []Property{{"B_x", false}}},
			xml: `<Obj RefId="0"><ToString>x</ToString><Props><S N="A">a</S></Props><MS><B N="B_x005F_x">false</B></MS></Obj>`,
		},
		"shared object and type names": {
			in: &Object{Members: []Property{
				{"one", shared}, {"two", shared},
				{"e1", Enum("T", "a", 1)}, {"e2", Enum("T", "b", 2)},
			}},
			xml: `<Obj RefId="0"><MS><Obj N="one" RefId="1"><ToString>shared</ToString><MS><I32 N="x">1</I32></MS></Obj><Ref N="two" RefId="1" />` +
				`<Obj N="e1" RefId="2"><TN RefId="0"><T>T</T><T>System.Enum</T><T>System.ValueType</T><T>System.Object</T></TN><ToString>a</ToString><I32>1</I32></Obj>` +
				`<Obj N="e2" RefId="3"><TNRef RefId="0" /><ToString>b</ToString><I32>2</I32></Obj></MS></Obj>`,
		},
		"empty list": {
			in:  &Object{ListTag: "IE", List: []any{}},
			xml: `<Obj RefId="0"><IE></IE></Obj>`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			b, err := Marshal(tc.in, nil)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.xml, string(b)); diff != "" {
				t.Errorf("Marshal (-want +got):\n%s", diff)
			}
			got, err := Unmarshal(b, nil)
			if err != nil {
				t.Fatal(err)
			}
			want := tc.want
			if want == nil {
				want = tc.in
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Unmarshal (-want +got):\n%s", diff)
			}
		})
	}
}

func TestUnmarshalSharesRefs(t *testing.T) {
	v, err := Unmarshal([]byte(`<Obj RefId="0"><MS><Obj N="a" RefId="1"><MS><Ref N="self" RefId="1" /></MS></Obj><Ref N="b" RefId="1" /></MS></Obj>`), nil)
	if err != nil {
		t.Fatal(err)
	}
	o := v.(*Object)
	a, b := o.Obj("a"), o.Obj("b")
	if a == nil || a != b || a.Obj("self") != a {
		t.Fatalf("refs not shared: a=%p b=%p self=%p", a, b, a.Obj("self"))
	}
	// A cyclic graph marshals with a <Ref> back to its ancestor.
	out, err := Marshal(o, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := `<Ref N="self" RefId="1" />`; !strings.Contains(string(out), want) {
		t.Errorf("Marshal = %s, want it to contain %s", out, want)
	}
}

func TestUnmarshalTolerates(t *testing.T) {
	tests := map[string]struct {
		in   string
		want any
	}{
		"prolog, namespace and whitespace": {
			in:   "\ufeff<?xml version=\"1.0\"?>\n<Obj RefId=\"0\" xmlns=\"http://schemas.microsoft.com/powershell/2004/04\">\n  <MS>\n    <S N=\"a\"> x </S>\n  </MS>\n</Obj>\n",
			want: &Object{Members: []Property{{"a", " x "}}},
		},
		"boolean case": {in: `<B>True</B>`, want: true},
		"unspecified datetime": {
			in:   `<DT>2008-04-11T10:42:32.2731993</DT>`,
			want: time.Date(2008, 4, 11, 10, 42, 32, 273199300, time.UTC),
		},
		"deserialized type name": {
			in:   `<Obj RefId="0"><TN RefId="0"><T>Deserialized.System.Object</T></TN></Obj>`,
			want: &Object{TypeNames: []string{"Deserialized.System.Object"}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := Unmarshal([]byte(tc.in), nil)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestUnmarshalRejects(t *testing.T) {
	tests := map[string]string{
		"empty":             ``,
		"two elements":      `<S></S><S></S>`,
		"text outside":      `hello`,
		"bad int":           `<I32>x</I32>`,
		"int overflow":      `<I32>2147483648</I32>`,
		"bad guid":          `<G>nope</G>`,
		"dangling ref":      `<Ref RefId="9" />`,
		"dangling tnref":    `<Obj RefId="0"><TNRef RefId="3" /></Obj>`,
		"element in string": `<S><B>true</B></S>`,
		"unclosed":          `<Obj RefId="0"><MS>`,
		"structural at top": `<MS></MS>`,
		"odd element name":  `<a.b>x</a.b>`,
		"too deep":          strings.Repeat(`<Obj><LST>`, maxDepth+2) + strings.Repeat(`</LST></Obj>`, maxDepth+2),
		"bad base64 in SS":  `<SS>!!</SS>`,
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			if v, err := Unmarshal([]byte(in), nil); err == nil {
				t.Fatalf("Unmarshal succeeded with %#v", v)
			}
		})
	}
}

func TestMarshalRejects(t *testing.T) {
	tests := map[string]any{
		"unsupported type":       struct{}{},
		"secure string, no key":  NewSecureString("x"),
		"unknown structural tag": Unknown{Tag: "Obj"},
		"bad list tag":           &Object{ListTag: "XYZ"},
	}
	for name, v := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := Marshal(v, nil); err == nil {
				t.Fatal("Marshal succeeded")
			}
		})
	}
}

func TestFloatSpecials(t *testing.T) {
	for _, f := range []float64{math.Inf(1), math.Inf(-1), math.NaN(), 1e300} {
		b, err := Marshal(f, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Unmarshal(b, nil)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(f, got, cmpopts.EquateNaNs()); diff != "" {
			t.Errorf("%s (-want +got):\n%s", b, diff)
		}
	}
}

func TestObjectAccessors(t *testing.T) {
	o := &Object{
		TypeNames: []string{"Deserialized.Foo.Bar", "Deserialized.System.Object"},
		Props:     []Property{{"Name", "adapted"}, {"Count", uint32(3)}},
		Members:   []Property{{"name", "extended"}, {"Flag", true}, {"Child", &Object{ToString: "c"}}, {"Enum", Enum("E", "x", 5)}},
	}
	if got := o.String("NAME"); got != "extended" {
		t.Errorf("String(NAME) = %q, want the extended property first", got)
	}
	if n, ok := o.Int("count"); !ok || n != 3 {
		t.Errorf("Int(count) = %d, %v", n, ok)
	}
	if n, ok := o.Int("Enum"); !ok || n != 5 {
		t.Errorf("Int(Enum) = %d, %v", n, ok)
	}
	if !o.Bool("flag") || o.Obj("child").ToString != "c" {
		t.Error("Bool or Obj accessor failed")
	}
	if !o.Is("Foo.Bar") || o.Is("Foo") {
		t.Error("Is does not match type names with and without Deserialized.")
	}
	var none *Object
	if _, ok := none.Get("x"); ok || none.Is("x") {
		t.Error("nil object reported a property")
	}
	o.Set("Flag", false).Set("New", "v")
	if o.Bool("Flag") || o.String("New") != "v" {
		t.Error("Set did not replace or add")
	}
}

func TestVersionCompare(t *testing.T) {
	tests := []struct {
		a, b Version
		want int
	}{
		{"2.3", "2.1", 1},
		{"2.1", "2.1", 0},
		{"2.10", "2.3", 1},
		{"2.0", "2.1", -1},
		{"2", "2.0.0", 0},
		{"10.0", "2.1", 1},
		{"x", "0", 0},
	}
	for _, tc := range tests {
		if got := tc.a.Compare(tc.b); got != tc.want {
			t.Errorf("%q.Compare(%q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}
