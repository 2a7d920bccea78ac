package wsman

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/bodgit/ntlmssp"
)

// The multipart/encrypted framing of WinRM message encryption
// (MS-WSMV 2.2.9.1). mime/multipart cannot parse it: its part headers start
// with a tab and the binary part has no CRLF before the closing boundary.
const (
	soapContentType   = "application/soap+xml;charset=UTF-8"
	sealProtocol      = "application/HTTP-SPNEGO-session-encrypted"
	sealedContentType = `multipart/encrypted;protocol="` + sealProtocol + `";boundary="Encrypted Boundary"`
	sealBoundary      = "--Encrypted Boundary"
	octetStreamHeader = "\tContent-Type: application/octet-stream\r\n"
)

// seal signs and encrypts a SOAP envelope and frames it.
func seal(s *ntlmssp.SecuritySession, envelope []byte) ([]byte, error) {
	if s == nil {
		return nil, ErrSealingRefused
	}
	sealed, sig, err := s.Wrap(envelope)
	if err != nil {
		return nil, fmt.Errorf("ntlm seal: %w", err)
	}
	if len(sig) != 16 {
		return nil, ErrSealingRefused
	}
	var b bytes.Buffer
	b.WriteString(sealBoundary + "\r\n")
	b.WriteString("\tContent-Type: " + sealProtocol + "\r\n")
	b.WriteString("\tOriginalContent: type=" + soapContentType + ";Length=" + strconv.Itoa(len(sealed)) + "\r\n")
	b.WriteString(sealBoundary + "\r\n")
	b.WriteString(octetStreamHeader)
	b.Write(binary.LittleEndian.AppendUint32(nil, uint32(len(sig))))
	b.Write(sig)
	b.Write(sealed)
	b.WriteString(sealBoundary + "--\r\n")
	return b.Bytes(), nil
}

// unseal parses a sealed reply, decrypts it and checks the signature
// (sequence number included) of every part.
func unseal(s *ntlmssp.SecuritySession, body []byte) ([]byte, error) {
	parts, err := parseSealed(body)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return nil, ErrSealingRefused
	}
	var out bytes.Buffer
	for _, p := range parts {
		m, err := s.Unwrap(p.sealed, p.sig)
		if err != nil {
			return nil, fmt.Errorf("wsman: sealed reply: %w", err)
		}
		out.Write(m)
	}
	return out.Bytes(), nil
}

// sealedPart is one encrypted part of a sealed body.
type sealedPart struct {
	sig, sealed []byte
}

// parseSealed splits a sealed body into parts, strictly: each part is
// "--Encrypted Boundary", tab-indented headers naming the protocol and
// "OriginalContent: type=application/soap+xml…;Length=N", the boundary
// again, the octet-stream header, then u32le(16) ‖ signature ‖ N sealed
// bytes; the body ends with "--Encrypted Boundary--". It never panics
// (FuzzParseSealed).
func parseSealed(body []byte) ([]sealedPart, error) {
	errBad := func(what string) error { return errors.New("wsman: sealed reply: " + what) }
	rest := body
	var parts []sealedPart
	for {
		if after, ok := bytes.CutPrefix(rest, []byte(sealBoundary+"--")); ok {
			if len(bytes.TrimRight(after, "\r\n")) != 0 || len(parts) == 0 {
				return nil, errBad("bad end")
			}
			return parts, nil
		}
		after, ok := bytes.CutPrefix(rest, []byte(sealBoundary+"\r\n"))
		if !ok {
			return nil, errBad("missing boundary")
		}
		rest = after
		length, protocol := -1, false
		for {
			line, after, ok := bytes.Cut(rest, []byte("\r\n"))
			if !ok {
				return nil, errBad("truncated header")
			}
			rest = after
			if string(line) == sealBoundary {
				break
			}
			name, value, _ := strings.Cut(strings.TrimSpace(string(line)), ":")
			value = strings.TrimSpace(value)
			switch strings.ToLower(strings.TrimSpace(name)) {
			case "content-type":
				protocol = strings.EqualFold(value, sealProtocol)
			case "originalcontent":
				if !strings.HasPrefix(strings.ToLower(value), "type=application/soap+xml") {
					return nil, errBad("original content is not SOAP")
				}
				i := strings.LastIndex(value, "Length=")
				if i < 0 {
					return nil, errBad("no Length")
				}
				n, err := strconv.Atoi(value[i+len("Length="):])
				if err != nil || n < 0 || n > len(body) {
					return nil, errBad("bad Length")
				}
				length = n
			}
		}
		if !protocol || length < 0 {
			return nil, errBad("bad part header")
		}
		after, ok = bytes.CutPrefix(rest, []byte(octetStreamHeader))
		if !ok {
			return nil, errBad("missing octet-stream part")
		}
		rest = after
		if len(rest) < 4 || binary.LittleEndian.Uint32(rest) != 16 || len(rest) < 4+16+length {
			return nil, errBad("truncated payload")
		}
		parts = append(parts, sealedPart{sig: rest[4:20], sealed: rest[20 : 20+length]})
		rest = rest[20+length:]
	}
}
