package psrp

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
)

// GUID is a 128-bit identifier held in its textual (RFC 4122) byte order,
// so that String gives the familiar form. On the wire PSRP writes GUIDs the
// way .NET's Guid.ToByteArray does: the first three groups little-endian,
// the last eight bytes as they are (see DotNetBytes).
type GUID [16]byte

// NilGUID is the all-zero GUID, used where a message has no pipeline.
var NilGUID GUID

// NewGUID returns a random (version 4) GUID read from r, or from
// crypto/rand when r is nil.
func NewGUID(r io.Reader) (GUID, error) {
	if r == nil {
		r = rand.Reader
	}
	var g GUID
	if _, err := io.ReadFull(r, g[:]); err != nil {
		return NilGUID, fmt.Errorf("psrp: new GUID: %w", err)
	}
	g[6] = g[6]&0x0f | 0x40
	g[8] = g[8]&0x3f | 0x80
	return g, nil
}

// ParseGUID parses the 36-character form, with or without braces, in either
// case.
func ParseGUID(s string) (GUID, error) {
	s = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(s), "{"), "}")
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return NilGUID, fmt.Errorf("psrp: malformed GUID %q", s)
	}
	var g GUID
	if _, err := hex.Decode(g[:], []byte(s[0:8]+s[9:13]+s[14:18]+s[19:23]+s[24:])); err != nil {
		return NilGUID, fmt.Errorf("psrp: malformed GUID %q", s)
	}
	return g, nil
}

// String returns the lower-case 36-character form, as PowerShell writes a
// <G> element.
func (g GUID) String() string {
	var b [36]byte
	hex.Encode(b[0:8], g[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], g[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], g[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], g[8:10])
	b[23] = '-'
	hex.Encode(b[24:], g[10:])
	return string(b[:])
}

// Upper returns the upper-case form WS-Management uses for ShellId and
// CommandId.
func (g GUID) Upper() string { return strings.ToUpper(g.String()) }

// IsNil reports whether g is the all-zero GUID.
func (g GUID) IsNil() bool { return g == NilGUID }

// DotNetBytes returns g in the byte order of .NET's Guid.ToByteArray, which
// PSRP uses for the RPID and PID fields of a message.
func (g GUID) DotNetBytes() [16]byte {
	var b [16]byte
	b[0], b[1], b[2], b[3] = g[3], g[2], g[1], g[0]
	b[4], b[5] = g[5], g[4]
	b[6], b[7] = g[7], g[6]
	copy(b[8:], g[8:])
	return b
}

// GUIDFromDotNetBytes is the inverse of DotNetBytes.
func GUIDFromDotNetBytes(b []byte) GUID {
	var g GUID
	if len(b) < 16 {
		return g
	}
	g[0], g[1], g[2], g[3] = b[3], b[2], b[1], b[0]
	g[4], g[5] = b[5], b[4]
	g[6], g[7] = b[7], b[6]
	copy(g[8:], b[8:16])
	return g
}
