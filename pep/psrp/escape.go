package psrp

import (
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// EncodeString applies the string encoding of §2.2.5.3.2: control
// characters (C0, DEL and C1) and characters outside the Basic Multilingual
// Plane become _xHHHH_ escapes of their UTF-16 code units, and an
// underscore that could be read as the start of an escape becomes _x005F_.
// XML's own escaping (&lt; and friends) is applied separately, by the
// writer.
//
// The specification asks only that an underscore be escaped when what
// follows could be misread as an escape; .NET's decoder also accepts an
// upper-case X and eight-digit escapes, so, like pypsrp, we escape every
// underscore followed by x or X. The result decodes the same either way.
func EncodeString(s string) string {
	if !needsEncoding(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for i, r := range s {
		switch {
		case r == '_' && i+1 < len(s) && (s[i+1] == 'x' || s[i+1] == 'X'):
			b.WriteString("_x005F_")
		case r < 0x20 || (r >= 0x7F && r <= 0x9F) || r == 0xFFFE || r == 0xFFFF:
			writeEscape(&b, uint16(r))
		case r > 0xFFFF:
			hi, lo := utf16.EncodeRune(r)
			writeEscape(&b, uint16(hi))
			writeEscape(&b, uint16(lo))
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func needsEncoding(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == 0x7F || c >= 0x80 || (c == '_' && i+1 < len(s) && (s[i+1] == 'x' || s[i+1] == 'X')) {
			return true
		}
	}
	return false
}

const hexDigits = "0123456789ABCDEF"

func writeEscape(b *strings.Builder, u uint16) {
	b.WriteString("_x")
	b.WriteByte(hexDigits[u>>12])
	b.WriteByte(hexDigits[u>>8&0xF])
	b.WriteByte(hexDigits[u>>4&0xF])
	b.WriteByte(hexDigits[u&0xF])
	b.WriteByte('_')
}

// DecodeString reverses EncodeString: every _xHHHH_ (or eight-digit
// _xHHHHHHHH_) escape, with x in either case and hex digits in either case,
// becomes the character it names. Escaped surrogate pairs are joined; a lone
// surrogate becomes U+FFFD.
func DecodeString(s string) string {
	if !strings.Contains(s, "_x") && !strings.Contains(s, "_X") {
		return s
	}
	var units []uint16
	var b strings.Builder
	flush := func() {
		if len(units) > 0 {
			for _, r := range utf16.Decode(units) {
				b.WriteRune(r)
			}
			units = units[:0]
		}
	}
	for i := 0; i < len(s); {
		if u, n, ok := escapeAt(s, i, 4); ok {
			units = append(units, uint16(u))
			i += n
			continue
		}
		if u, n, ok := escapeAt(s, i, 8); ok {
			flush()
			if u <= utf8.MaxRune {
				b.WriteRune(rune(u))
			} else {
				b.WriteRune(utf8.RuneError)
			}
			i += n
			continue
		}
		flush()
		_, n := utf8.DecodeRuneInString(s[i:])
		b.WriteString(s[i : i+n])
		i += n
	}
	flush()
	return b.String()
}

// escapeAt reports whether s[i:] starts with _x followed by digits hex
// digits and an underscore, and returns the value and the escape's length.
func escapeAt(s string, i, digits int) (uint32, int, bool) {
	n := digits + 3
	if i+n > len(s) || s[i] != '_' || (s[i+1] != 'x' && s[i+1] != 'X') || s[i+n-1] != '_' {
		return 0, 0, false
	}
	var v uint32
	for _, c := range []byte(s[i+2 : i+n-1]) {
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, 0, false
		}
		v = v<<4 | uint32(d)
	}
	return v, n, true
}
