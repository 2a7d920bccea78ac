package psrp

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Marshal serializes v as one CLIXML element, as the Data of a message.
// key encrypts SecureStrings; with a nil key, a SecureString holding plain
// text fails with ErrNoSessionKey (one decoded without a key is passed on
// as its ciphertext). Marshal's errors never contain a secret.
func Marshal(v any, key *SessionKey) ([]byte, error) {
	w := &writer{key: key, objs: make(map[*Object]int), tns: make(map[string]int)}
	if err := w.value("", v); err != nil {
		return nil, err
	}
	return w.buf.Bytes(), nil
}

type writer struct {
	buf  bytes.Buffer
	key  *SessionKey
	objs map[*Object]int
	tns  map[string]int
}

func (w *writer) open(tag, name string) {
	w.buf.WriteByte('<')
	w.buf.WriteString(tag)
	if name != "" {
		w.buf.WriteString(` N="`)
		writeEscaped(&w.buf, EncodeString(name), true)
		w.buf.WriteByte('"')
	}
}

// prim writes <tag N="name">text</tag>; text is XML-escaped here and must
// already carry the PSRP string encoding where the type calls for it.
func (w *writer) prim(tag, name, text string) {
	w.open(tag, name)
	w.buf.WriteByte('>')
	writeEscaped(&w.buf, text, false)
	w.buf.WriteString("</")
	w.buf.WriteString(tag)
	w.buf.WriteByte('>')
}

func (w *writer) value(name string, v any) error {
	switch x := v.(type) {
	case nil:
		w.open("Nil", name)
		w.buf.WriteString(" />")
	case string:
		w.prim("S", name, EncodeString(x))
	case bool:
		w.prim("B", name, strconv.FormatBool(x))
	case int32:
		w.prim("I32", name, strconv.FormatInt(int64(x), 10))
	case int:
		if x >= math.MinInt32 && x <= math.MaxInt32 {
			w.prim("I32", name, strconv.Itoa(x))
		} else {
			w.prim("I64", name, strconv.Itoa(x))
		}
	case int64:
		w.prim("I64", name, strconv.FormatInt(x, 10))
	case uint32:
		w.prim("U32", name, strconv.FormatUint(uint64(x), 10))
	case uint64:
		w.prim("U64", name, strconv.FormatUint(x, 10))
	case int16:
		w.prim("I16", name, strconv.FormatInt(int64(x), 10))
	case uint16:
		w.prim("U16", name, strconv.FormatUint(uint64(x), 10))
	case int8:
		w.prim("SB", name, strconv.FormatInt(int64(x), 10))
	case uint8:
		w.prim("By", name, strconv.FormatUint(uint64(x), 10))
	case float64:
		w.prim("Db", name, formatFloat(x, 64))
	case float32:
		w.prim("Sg", name, formatFloat(float64(x), 32))
	case Char:
		w.prim("C", name, strconv.FormatUint(uint64(x), 10))
	case []byte:
		w.prim("BA", name, base64.StdEncoding.EncodeToString(x))
	case time.Time:
		w.prim("DT", name, formatDateTime(x))
	case GUID:
		w.prim("G", name, x.String())
	case Version:
		w.prim("Version", name, EncodeString(string(x)))
	case SecureString:
		return w.secure(name, x)
	case Unknown:
		if !validTag(x.Tag) {
			return fmt.Errorf("psrp: cannot serialize element <%s>", x.Tag)
		}
		w.prim(x.Tag, name, EncodeString(x.Text))
	case []string:
		list := make([]any, len(x))
		for i, s := range x {
			list[i] = s
		}
		return w.object(name, &Object{TypeNames: []string{"System.String[]", "System.Array", "System.Object"}, ListTag: "LST", List: list})
	case *Object:
		if x == nil {
			return w.value(name, nil)
		}
		return w.object(name, x)
	default:
		return fmt.Errorf("psrp: cannot serialize a %T", v)
	}
	return nil
}

func (w *writer) secure(name string, s SecureString) error {
	var ct []byte
	switch {
	case s.clear && w.key == nil:
		return ErrNoSessionKey
	case s.clear:
		ct = w.key.Encrypt(s.plain)
	default:
		ct = s.cipher
	}
	w.prim("SS", name, base64.StdEncoding.EncodeToString(ct))
	return nil
}

func (w *writer) object(name string, o *Object) error {
	if id, ok := w.objs[o]; ok {
		w.open("Ref", name)
		fmt.Fprintf(&w.buf, ` RefId="%d" />`, id)
		return nil
	}
	id := len(w.objs)
	w.objs[o] = id
	w.open("Obj", name)
	fmt.Fprintf(&w.buf, ` RefId="%d">`, id)
	if len(o.TypeNames) > 0 {
		key := strings.Join(o.TypeNames, "\x00")
		if tn, ok := w.tns[key]; ok {
			fmt.Fprintf(&w.buf, `<TNRef RefId="%d" />`, tn)
		} else {
			tn = len(w.tns)
			w.tns[key] = tn
			fmt.Fprintf(&w.buf, `<TN RefId="%d">`, tn)
			for _, t := range o.TypeNames {
				w.prim("T", "", EncodeString(t))
			}
			w.buf.WriteString("</TN>")
		}
	}
	if o.ToString != "" {
		w.prim("ToString", "", EncodeString(o.ToString))
	}
	if o.Value != nil {
		if err := w.value("", o.Value); err != nil {
			return err
		}
	}
	if o.ListTag != "" || o.List != nil {
		tag := o.ListTag
		if tag == "" {
			tag = "LST"
		}
		if !isListTag(tag) {
			return fmt.Errorf("psrp: %q is not a list element", tag)
		}
		w.buf.WriteString("<" + tag + ">")
		for _, v := range o.List {
			if err := w.value("", v); err != nil {
				return err
			}
		}
		w.buf.WriteString("</" + tag + ">")
	}
	if o.Dict != nil {
		w.buf.WriteString("<DCT>")
		for _, e := range o.Dict {
			w.buf.WriteString("<En>")
			if err := w.value("Key", e.Key); err != nil {
				return err
			}
			if err := w.value("Value", e.Value); err != nil {
				return err
			}
			w.buf.WriteString("</En>")
		}
		w.buf.WriteString("</DCT>")
	}
	for _, set := range []struct {
		tag   string
		props []Property
	}{{"Props", o.Props}, {"MS", o.Members}} {
		if len(set.props) == 0 {
			continue
		}
		w.buf.WriteString("<" + set.tag + ">")
		for _, p := range set.props {
			if err := w.value(p.Name, p.Value); err != nil {
				return err
			}
		}
		w.buf.WriteString("</" + set.tag + ">")
	}
	w.buf.WriteString("</Obj>")
	return nil
}

func isListTag(t string) bool { return t == "LST" || t == "IE" || t == "STK" || t == "QUE" }

// structuralTags are the element names that carry structure, never a
// primitive's text.
var structuralTags = map[string]bool{
	"Obj": true, "Ref": true, "Nil": true, "TN": true, "TNRef": true, "T": true, "ToString": true,
	"MS": true, "Props": true, "LST": true, "IE": true, "STK": true, "QUE": true, "DCT": true, "En": true,
}

func validTag(t string) bool {
	if t == "" || len(t) > 32 || structuralTags[t] {
		return false
	}
	for _, c := range []byte(t) {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func formatFloat(f float64, bits int) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	return strconv.FormatFloat(f, 'G', -1, bits)
}

// writeEscaped writes s with XML's special characters escaped.
func writeEscaped(b *bytes.Buffer, s string, attr bool) {
	last := 0
	for i := 0; i < len(s); i++ {
		var esc string
		switch s[i] {
		case '&':
			esc = "&amp;"
		case '<':
			esc = "&lt;"
		case '>':
			esc = "&gt;"
		case '"':
			if !attr {
				continue
			}
			esc = "&quot;"
		default:
			continue
		}
		b.WriteString(s[last:i])
		b.WriteString(esc)
		last = i + 1
	}
	b.WriteString(s[last:])
}
