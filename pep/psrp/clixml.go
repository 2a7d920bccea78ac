package psrp

import (
	"strings"
	"time"
)

// The CLIXML data model (§2.2.5). A value is one of:
//
//	nil          <Nil/>
//	string       <S>        bool     <B>
//	int32        <I32>      int64    <I64>
//	uint32       <U32>      uint64   <U64>
//	int16        <I16>      uint16   <U16>
//	int8         <SB>       uint8    <By>
//	float64      <Db>       float32  <Sg>
//	Char         <C>        []byte   <BA>
//	time.Time    <DT>       GUID     <G>
//	Version      <Version>  SecureString <SS>
//	*Object      <Obj> (or <Ref> to an object already written)
//	Unknown      any other primitive, kept as tag and text
//
// When marshalling, int is accepted and written as <I32> when it fits and
// <I64> otherwise, and []string as a System.String[] list.

// Version is a System.Version in its dotted text form, such as "2.3".
type Version string

// Char is a System.Char (a UTF-16 code unit).
type Char uint16

// Unknown is a primitive element this codec does not interpret, such as
// <TS>, <URI>, <D> or <SBK>; it keeps the tag and the decoded text so that
// an unexpected type in a command's output does not fail the whole message.
type Unknown struct {
	Tag  string
	Text string
}

// Object is a complex object (§2.2.5.2): type names, an optional ToString,
// an optional wrapped primitive (enums and primitive-backed PSObjects),
// adapted properties (<Props>), extended properties (<MS>) and at most one
// container: a list (<LST>, <IE>, <STK> or <QUE>) or a dictionary (<DCT>).
//
// Objects are values in a graph: the decoder returns the same *Object for
// every <Ref> to it, and the encoder writes a <Ref> the second time it meets
// the same pointer, so shared and even cyclic graphs round-trip.
type Object struct {
	// TypeNames lists the type hierarchy, most derived first. Objects that
	// crossed a process boundary carry "Deserialized." names on a real
	// server's output; see Is.
	TypeNames []string
	// ToString is the object's string form; empty means absent.
	ToString string
	// Value is the wrapped primitive, for example the int32 of an enum.
	Value any
	// Props are the adapted properties, Members the extended ones, each in
	// document order.
	Props   []Property
	Members []Property
	// ListTag is "LST", "IE", "STK" or "QUE" when the object is a
	// collection of List; empty (with a nil List) when it is not.
	ListTag string
	List    []any
	// Dict is the content of a <DCT>; nil when the object is not a
	// dictionary.
	Dict []DictEntry
}

// Property is a named value inside <Props> or <MS>.
type Property struct {
	Name  string
	Value any
}

// DictEntry is one <En> of a dictionary.
type DictEntry struct {
	Key   any
	Value any
}

// Get returns the named property, looking in the extended properties first
// and then the adapted ones, with PowerShell's case-insensitive matching.
func (o *Object) Get(name string) (any, bool) {
	if o == nil {
		return nil, false
	}
	for _, set := range [][]Property{o.Members, o.Props} {
		for _, p := range set {
			if strings.EqualFold(p.Name, name) {
				return p.Value, true
			}
		}
	}
	return nil, false
}

// String returns the named property when it is a string, else "".
func (o *Object) String(name string) string {
	v, _ := o.Get(name)
	s, _ := v.(string)
	return s
}

// Int returns the named property when it is an integer of any width, else
// 0 and false.
func (o *Object) Int(name string) (int64, bool) {
	v, _ := o.Get(name)
	return asInt(v)
}

// Bool returns the named property when it is a bool, else false.
func (o *Object) Bool(name string) bool {
	v, _ := o.Get(name)
	b, _ := v.(bool)
	return b
}

// Obj returns the named property when it is an object, else nil.
func (o *Object) Obj(name string) *Object {
	v, _ := o.Get(name)
	c, _ := v.(*Object)
	return c
}

// Is reports whether the object is of the named type, with or without the
// "Deserialized." prefix a remote object's names carry.
func (o *Object) Is(typeName string) bool {
	if o == nil {
		return false
	}
	for _, t := range o.TypeNames {
		if t == typeName || strings.TrimPrefix(t, "Deserialized.") == typeName {
			return true
		}
	}
	return false
}

// Set sets an extended property, replacing one of the same name.
func (o *Object) Set(name string, v any) *Object {
	for i := range o.Members {
		if o.Members[i].Name == name {
			o.Members[i].Value = v
			return o
		}
	}
	o.Members = append(o.Members, Property{Name: name, Value: v})
	return o
}

func asInt(v any) (int64, bool) {
	switch n := v.(type) {
	case int32:
		return int64(n), true
	case int64:
		return n, true
	case uint32:
		return int64(n), true
	case int16:
		return int64(n), true
	case uint16:
		return int64(n), true
	case int8:
		return int64(n), true
	case uint8:
		return int64(n), true
	case uint64:
		return int64(n), n <= 1<<63-1
	case int:
		return int64(n), true
	case *Object:
		if n != nil {
			return asInt(n.Value)
		}
	}
	return 0, false
}

// enumTypeNames is the hierarchy PowerShell writes for an enum value.
func enumTypeNames(typeName string) []string {
	return []string{typeName, "System.Enum", "System.ValueType", "System.Object"}
}

// Enum returns an enum value as PowerShell serializes it: the enum's type
// names, its name as ToString and its numeric value.
func Enum(typeName, name string, value int32) *Object {
	return &Object{TypeNames: enumTypeNames(typeName), ToString: name, Value: value}
}

// dateTimeLayout is .NET's round-trip ("o") format.
const dateTimeLayout = "2006-01-02T15:04:05.0000000Z07:00"

func formatDateTime(t time.Time) string { return t.Format(dateTimeLayout) }

// Compare orders dotted versions numerically ("2.10" after "2.3"); a
// missing or non-numeric part counts as 0. It returns -1, 0 or +1.
func (v Version) Compare(o Version) int {
	a, b := strings.Split(string(v), "."), strings.Split(string(o), ".")
	for i := range max(len(a), len(b)) {
		x, y := versionPart(a, i), versionPart(b, i)
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
	}
	return 0
}

func versionPart(parts []string, i int) int {
	if i >= len(parts) {
		return 0
	}
	n := 0
	for _, c := range strings.TrimSpace(parts[i]) {
		if c < '0' || c > '9' || n > 1<<20 {
			return 0
		}
		n = n*10 + int(c-'0')
	}
	return n
}
