package wsman

import (
	"bytes"
	"crypto/md5"
	"crypto/rc4"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// The multipart/encrypted framing of WinRM message encryption
// (MS-WSMV 2.2.9.1; pep.md §7).
const (
	sealProtocol    = "application/HTTP-SPNEGO-session-encrypted"
	sealContentType = `multipart/encrypted;protocol="` + sealProtocol + `";boundary="Encrypted Boundary"`
	sealBoundary    = "--Encrypted Boundary"
)

// sealSession is the server half of an NTLM security context with extended
// session security (MS-NLMP 3.4.4.2): it unseals what the client sealed and
// seals replies. Calls are serialised by the connection.
type sealSession struct {
	keyExch            bool
	inSign, outSign    []byte
	inSeal, outSeal    *rc4.Cipher
	inSeqNum, outSeqNo uint32
}

var (
	clientSignMagic = []byte("session key to client-to-server signing key magic constant\x00")
	serverSignMagic = []byte("session key to server-to-client signing key magic constant\x00")
	clientSealMagic = []byte("session key to client-to-server sealing key magic constant\x00")
	serverSealMagic = []byte("session key to server-to-client sealing key magic constant\x00")
)

// newSealSession derives the keys from the exported session key; it refuses
// flag sets without sealing or extended session security.
func newSealSession(flags uint32, key []byte) (*sealSession, error) {
	if flags&flagSeal == 0 || flags&flagESS == 0 {
		return nil, errors.New("ntlm: sealing not negotiated")
	}
	sealKey := func(magic []byte) []byte {
		k := key
		switch {
		case flags&flag128 != 0:
		case flags&flag56 != 0:
			k = key[:7]
		default:
			k = key[:5]
		}
		s := md5.Sum(append(append([]byte{}, k...), magic...))
		return s[:]
	}
	signKey := func(magic []byte) []byte {
		s := md5.Sum(append(append([]byte{}, key...), magic...))
		return s[:]
	}
	in, _ := rc4.NewCipher(sealKey(clientSealMagic))
	out, _ := rc4.NewCipher(sealKey(serverSealMagic))
	return &sealSession{
		keyExch: flags&flagKeyExch != 0,
		inSign:  signKey(clientSignMagic), outSign: signKey(serverSignMagic),
		inSeal: in, outSeal: out,
	}, nil
}

// unseal decrypts a client message and checks its signature and sequence
// number.
func (s *sealSession) unseal(sealed, sig []byte) ([]byte, error) {
	if len(sig) != 16 || binary.LittleEndian.Uint32(sig) != 1 {
		return nil, errors.New("ntlm: bad signature")
	}
	msg := make([]byte, len(sealed))
	s.inSeal.XORKeyStream(msg, sealed)
	want := s.signature(msg, s.inSign, s.inSeqNum, s.inSeal)
	if !bytes.Equal(want, sig) {
		return nil, errors.New("ntlm: signature does not match")
	}
	s.inSeqNum++
	return msg, nil
}

// seal encrypts a reply and signs it.
func (s *sealSession) seal(msg []byte) (sealed, sig []byte) {
	sealed = make([]byte, len(msg))
	s.outSeal.XORKeyStream(sealed, msg)
	sig = s.signature(msg, s.outSign, s.outSeqNo, s.outSeal)
	s.outSeqNo++
	return sealed, sig
}

func (s *sealSession) signature(msg, key []byte, seq uint32, c *rc4.Cipher) []byte {
	seqB := binary.LittleEndian.AppendUint32(nil, seq)
	sum := hmacMD5(key, seqB, msg)[:8]
	if s.keyExch {
		c.XORKeyStream(sum, sum)
	}
	sig := binary.LittleEndian.AppendUint32(nil, 1)
	return append(append(sig, sum...), seqB...)
}

// sealedPart is one encrypted part: the signature and the sealed bytes.
type sealedPart struct {
	sig, sealed []byte
}

// parseSealedBody splits a multipart/encrypted body into its parts. Each part
// is a header block naming the original length, then
// u32le(len(sig)) ‖ sig ‖ sealed, whose length must match. It never panics
// (FuzzParseSealedBody).
func parseSealedBody(body []byte) ([]sealedPart, error) {
	rest := body
	var parts []sealedPart
	for {
		if bytes.HasPrefix(rest, []byte(sealBoundary+"--")) {
			tail := bytes.TrimRight(rest[len(sealBoundary)+2:], "\r\n")
			if len(tail) != 0 || len(parts) == 0 {
				return nil, errors.New("sealed body: bad end")
			}
			return parts, nil
		}
		line, after, ok := bytes.Cut(rest, []byte("\r\n"))
		if !ok || string(line) != sealBoundary {
			return nil, errors.New("sealed body: missing boundary")
		}
		rest = after
		length := -1
		for {
			line, after, ok = bytes.Cut(rest, []byte("\r\n"))
			if !ok {
				return nil, errors.New("sealed body: truncated header")
			}
			if string(line) == sealBoundary {
				break
			}
			h := strings.TrimSpace(string(line))
			if i := strings.Index(h, "Length="); i >= 0 && strings.HasPrefix(strings.ToLower(h), "originalcontent:") {
				n, err := strconv.Atoi(strings.TrimSpace(h[i+len("Length="):]))
				if err != nil || n < 0 {
					return nil, errors.New("sealed body: bad Length")
				}
				length = n
			} else if strings.HasPrefix(strings.ToLower(h), "content-type:") && !strings.Contains(h, sealProtocol) {
				return nil, fmt.Errorf("sealed body: unexpected part type %q", h)
			}
			rest = after
		}
		if length < 0 {
			return nil, errors.New("sealed body: no OriginalContent length")
		}
		rest = after
		line, after, ok = bytes.Cut(rest, []byte("\r\n"))
		if !ok || !strings.EqualFold(strings.TrimSpace(string(line)), "Content-Type: application/octet-stream") {
			return nil, errors.New("sealed body: missing octet-stream part")
		}
		rest = after
		if len(rest) < 4 {
			return nil, errors.New("sealed body: truncated")
		}
		sigLen := int(binary.LittleEndian.Uint32(rest))
		if sigLen != 16 || len(rest)-4-sigLen < length {
			return nil, errors.New("sealed body: truncated payload")
		}
		parts = append(parts, sealedPart{sig: rest[4 : 4+sigLen], sealed: rest[4+sigLen : 4+sigLen+length]})
		rest = rest[4+sigLen+length:]
	}
}

// sealedBody frames one sealed message.
func sealedBody(sig, sealed []byte, contentType string) []byte {
	var b bytes.Buffer
	b.WriteString(sealBoundary + "\r\n")
	b.WriteString("\tContent-Type: " + sealProtocol + "\r\n")
	b.WriteString("\tOriginalContent: type=" + contentType + ";Length=" + strconv.Itoa(len(sealed)) + "\r\n")
	b.WriteString(sealBoundary + "\r\n")
	b.WriteString("\tContent-Type: application/octet-stream\r\n")
	b.Write(binary.LittleEndian.AppendUint32(nil, uint32(len(sig))))
	b.Write(sig)
	b.Write(sealed)
	b.WriteString(sealBoundary + "--\r\n")
	return b.Bytes()
}
