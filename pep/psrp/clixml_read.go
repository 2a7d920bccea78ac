package psrp

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// maxDepth bounds the nesting of objects the decoder follows, so hostile
// input cannot exhaust the stack.
const maxDepth = 128

// Unmarshal parses one CLIXML element (a message's Data). key decrypts
// <SS> elements; with a nil key a SecureString keeps only its ciphertext.
// Errors name the element at fault but never quote a SecureString.
func Unmarshal(data []byte, key *SessionKey) (any, error) {
	r := &reader{
		d:    xml.NewDecoder(bytes.NewReader(bytes.TrimPrefix(data, utf8BOM))),
		key:  key,
		objs: make(map[string]*Object),
		tns:  make(map[string][]string),
	}
	start, err := r.nextStart()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("psrp: CLIXML: no element")
		}
		return nil, err
	}
	v, _, err := r.element(start, 0)
	if err != nil {
		return nil, err
	}
	if _, err := r.nextStart(); err == nil {
		return nil, errors.New("psrp: CLIXML: more than one top-level element")
	} else if !errors.Is(err, io.EOF) {
		return nil, err
	}
	return v, nil
}

type reader struct {
	d    *xml.Decoder
	key  *SessionKey
	objs map[string]*Object
	tns  map[string][]string
}

// nextStart returns the next start element, skipping the prolog, comments
// and whitespace; io.EOF at the end of input.
func (r *reader) nextStart() (xml.StartElement, error) {
	for {
		tok, err := r.d.Token()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return xml.StartElement{}, io.EOF
			}
			return xml.StartElement{}, fmt.Errorf("psrp: CLIXML: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			return t, nil
		case xml.EndElement:
			return xml.StartElement{}, fmt.Errorf("psrp: CLIXML: unexpected </%s>", t.Name.Local)
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return xml.StartElement{}, errors.New("psrp: CLIXML: text outside an element")
			}
		}
	}
}

func attr(se xml.StartElement, name string) (string, bool) {
	for _, a := range se.Attr {
		if a.Name.Local == name {
			return a.Value, true
		}
	}
	return "", false
}

// element decodes the element se opened and returns its value and its N
// attribute (decoded).
func (r *reader) element(se xml.StartElement, depth int) (any, string, error) {
	if depth > maxDepth {
		return nil, "", fmt.Errorf("psrp: CLIXML: nesting deeper than %d", maxDepth)
	}
	n, _ := attr(se, "N")
	name := DecodeString(n)
	tag := se.Name.Local
	switch tag {
	case "Obj":
		o, err := r.object(se, depth)
		return o, name, err
	case "Ref":
		id, _ := attr(se, "RefId")
		o, ok := r.objs[id]
		if !ok {
			return nil, name, fmt.Errorf("psrp: CLIXML: <Ref RefId=%q> to no earlier object", id)
		}
		return o, name, r.d.Skip()
	case "Nil":
		return nil, name, r.d.Skip()
	}
	if structuralTags[tag] {
		return nil, name, fmt.Errorf("psrp: CLIXML: <%s> out of place", tag)
	}
	if !validTag(tag) {
		return nil, name, fmt.Errorf("psrp: CLIXML: unknown element <%.32s>", tag)
	}
	text, err := r.text(se, !knownPrimitive[tag])
	if err != nil {
		return nil, name, err
	}
	v, err := r.primitive(tag, text)
	if err != nil {
		return nil, name, fmt.Errorf("psrp: CLIXML: <%s N=%q>: %w", tag, name, err)
	}
	return v, name, nil
}

var knownPrimitive = map[string]bool{
	"S": true, "B": true, "I32": true, "I64": true, "U32": true, "U64": true, "I16": true, "U16": true,
	"SB": true, "By": true, "Db": true, "Sg": true, "C": true, "BA": true, "DT": true, "G": true,
	"Version": true, "SS": true,
}

func (r *reader) primitive(tag, text string) (any, error) {
	trim := strings.TrimSpace(text)
	switch tag {
	case "S":
		return DecodeString(text), nil
	case "B":
		switch strings.ToLower(trim) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		return nil, errors.New("not a boolean")
	case "I32":
		n, err := strconv.ParseInt(trim, 10, 32)
		return int32(n), numErr(err)
	case "I64":
		n, err := strconv.ParseInt(trim, 10, 64)
		return n, numErr(err)
	case "U32":
		n, err := strconv.ParseUint(trim, 10, 32)
		return uint32(n), numErr(err)
	case "U64":
		n, err := strconv.ParseUint(trim, 10, 64)
		return n, numErr(err)
	case "I16":
		n, err := strconv.ParseInt(trim, 10, 16)
		return int16(n), numErr(err)
	case "U16":
		n, err := strconv.ParseUint(trim, 10, 16)
		return uint16(n), numErr(err)
	case "SB":
		n, err := strconv.ParseInt(trim, 10, 8)
		return int8(n), numErr(err)
	case "By":
		n, err := strconv.ParseUint(trim, 10, 8)
		return uint8(n), numErr(err)
	case "C":
		n, err := strconv.ParseUint(trim, 10, 16)
		return Char(n), numErr(err)
	case "Db":
		f, err := parseFloat(trim, 64)
		return f, err
	case "Sg":
		f, err := parseFloat(trim, 32)
		return float32(f), err
	case "BA":
		b, err := decodeBase64(trim)
		if err != nil {
			return nil, errors.New("not base64")
		}
		return b, nil
	case "DT":
		return parseDateTime(trim)
	case "G":
		return ParseGUID(trim)
	case "Version":
		return Version(DecodeString(trim)), nil
	case "SS":
		ct, err := decodeBase64(trim)
		if err != nil {
			return nil, errors.New("SecureString is not base64")
		}
		if r.key == nil {
			return SecureString{cipher: ct}, nil
		}
		plain, err := r.key.Decrypt(ct)
		if err != nil {
			return nil, err
		}
		return NewSecureString(plain), nil
	}
	return Unknown{Tag: tag, Text: DecodeString(text)}, nil
}

func numErr(err error) error {
	if err != nil {
		return errors.New("not a number of that size")
	}
	return nil
}

func parseFloat(s string, bits int) (float64, error) {
	switch s {
	case "NaN":
		return math.NaN(), nil
	case "Infinity":
		return math.Inf(1), nil
	case "-Infinity":
		return math.Inf(-1), nil
	}
	f, err := strconv.ParseFloat(s, bits)
	return f, numErr(err)
}

func parseDateTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	// A DateTime of unspecified kind has no offset; read it as UTC.
	if t, err := time.Parse("2006-01-02T15:04:05.9999999", s); err == nil {
		return t, nil
	}
	return time.Time{}, errors.New("not a date and time")
}

func decodeBase64(s string) ([]byte, error) {
	s = strings.Map(func(r rune) rune {
		if r == ' ' || r == '\n' || r == '\r' || r == '\t' {
			return -1
		}
		return r
	}, s)
	return base64.StdEncoding.DecodeString(s)
}

// text collects the character data of se up to its end element. A nested
// element is an error unless lenient, when it is skipped.
func (r *reader) text(se xml.StartElement, lenient bool) (string, error) {
	var b strings.Builder
	for {
		tok, err := r.d.Token()
		if err != nil {
			return "", fmt.Errorf("psrp: CLIXML: in <%s>: %w", se.Name.Local, unexpectedEOF(err))
		}
		switch t := tok.(type) {
		case xml.CharData:
			b.Write(t)
		case xml.StartElement:
			if !lenient {
				return "", fmt.Errorf("psrp: CLIXML: <%s> inside <%s>", t.Name.Local, se.Name.Local)
			}
			if err := r.d.Skip(); err != nil {
				return "", fmt.Errorf("psrp: CLIXML: %w", err)
			}
		case xml.EndElement:
			return b.String(), nil
		}
	}
}

func unexpectedEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// object decodes an <Obj>. It registers the object under its RefId before
// reading the children, so a <Ref> inside it resolves.
func (r *reader) object(se xml.StartElement, depth int) (*Object, error) {
	o := &Object{}
	if id, ok := attr(se, "RefId"); ok {
		r.objs[id] = o
	}
	haveValue := false
	for {
		tok, err := r.d.Token()
		if err != nil {
			return nil, fmt.Errorf("psrp: CLIXML: in <Obj>: %w", unexpectedEOF(err))
		}
		switch t := tok.(type) {
		case xml.EndElement:
			return o, nil
		case xml.StartElement:
			switch t.Name.Local {
			case "TN":
				names, err := r.typeNames(t)
				if err != nil {
					return nil, err
				}
				id, _ := attr(t, "RefId")
				r.tns[id] = names
				o.TypeNames = names
			case "TNRef":
				id, _ := attr(t, "RefId")
				names, ok := r.tns[id]
				if !ok {
					return nil, fmt.Errorf("psrp: CLIXML: <TNRef RefId=%q> to no earlier <TN>", id)
				}
				o.TypeNames = append([]string(nil), names...)
				if err := r.d.Skip(); err != nil {
					return nil, fmt.Errorf("psrp: CLIXML: %w", err)
				}
			case "ToString":
				s, err := r.text(t, false)
				if err != nil {
					return nil, err
				}
				o.ToString = DecodeString(s)
			case "Props", "MS":
				props, err := r.properties(t, depth+1)
				if err != nil {
					return nil, err
				}
				if t.Name.Local == "MS" {
					o.Members = append(o.Members, props...)
				} else {
					o.Props = append(o.Props, props...)
				}
			case "LST", "IE", "STK", "QUE":
				items, err := r.items(t, depth+1)
				if err != nil {
					return nil, err
				}
				o.ListTag, o.List = t.Name.Local, items
			case "DCT":
				entries, err := r.dict(depth + 1)
				if err != nil {
					return nil, err
				}
				o.Dict = entries
			default:
				v, _, err := r.element(t, depth+1)
				if err != nil {
					return nil, err
				}
				if !haveValue {
					o.Value, haveValue = v, true
				}
			}
		}
	}
}

// children calls fn with each child element of the element named in (the
// one whose start tag was read last), up to its end tag; fn reads or skips
// the child whole. A read error names the element it happened in.
func (r *reader) children(in string, fn func(xml.StartElement) error) error {
	for {
		tok, err := r.d.Token()
		if err != nil {
			return fmt.Errorf("psrp: CLIXML: in <%s>: %w", in, unexpectedEOF(err))
		}
		switch t := tok.(type) {
		case xml.EndElement:
			return nil
		case xml.StartElement:
			if err := fn(t); err != nil {
				return err
			}
		}
	}
}

func (r *reader) typeNames(se xml.StartElement) ([]string, error) {
	names := []string{}
	err := r.children("TN", func(t xml.StartElement) error {
		if t.Name.Local != "T" {
			return fmt.Errorf("psrp: CLIXML: <%s> inside <TN>", t.Name.Local)
		}
		s, err := r.text(t, false)
		names = append(names, DecodeString(s))
		return err
	})
	if err != nil {
		return nil, err
	}
	return names, nil
}

func (r *reader) properties(se xml.StartElement, depth int) ([]Property, error) {
	props := []Property{}
	err := r.children(se.Name.Local, func(t xml.StartElement) error {
		v, name, err := r.element(t, depth)
		props = append(props, Property{Name: name, Value: v})
		return err
	})
	if err != nil {
		return nil, err
	}
	return props, nil
}

func (r *reader) items(se xml.StartElement, depth int) ([]any, error) {
	items := []any{}
	err := r.children(se.Name.Local, func(t xml.StartElement) error {
		v, _, err := r.element(t, depth)
		items = append(items, v)
		return err
	})
	if err != nil {
		return nil, err
	}
	return items, nil
}

func (r *reader) dict(depth int) ([]DictEntry, error) {
	entries := []DictEntry{}
	err := r.children("DCT", func(t xml.StartElement) error {
		if t.Name.Local != "En" {
			return fmt.Errorf("psrp: CLIXML: <%s> inside <DCT>", t.Name.Local)
		}
		props, err := r.properties(t, depth)
		if err != nil {
			return err
		}
		var e DictEntry
		for _, p := range props {
			switch p.Name {
			case "Key":
				e.Key = p.Value
			case "Value":
				e.Value = p.Value
			}
		}
		entries = append(entries, e)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return entries, nil
}
