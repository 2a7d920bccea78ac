package wsman

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/rc4"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf16"

	//lint:ignore SA1019 NTLM (MS-NLMP NTOWF) derives the NT hash with MD4; the protocol leaves no choice
	"golang.org/x/crypto/md4"
)

// NTLM negotiate flags (MS-NLMP 2.2.2.5) the server looks at.
const (
	flagUnicode    = 0x00000001
	flagOEM        = 0x00000002
	flagReqTarget  = 0x00000004
	flagSign       = 0x00000010
	flagSeal       = 0x00000020
	flagLMKey      = 0x00000080
	flagNTLM       = 0x00000200
	flagAnonymous  = 0x00000800
	flagAlwaysSign = 0x00008000
	flagTargetDom  = 0x00010000
	flagESS        = 0x00080000
	flagTargetInfo = 0x00800000
	flagVersion    = 0x02000000
	flag128        = 0x20000000
	flagKeyExch    = 0x40000000
	flag56         = 0x80000000

	// sealFlags are what a client must negotiate for message sealing.
	sealFlags = flagSign | flagSeal | flagKeyExch | flag128 | flagESS
)

var ntlmSignature = []byte("NTLMSSP\x00")

// ntlmServer is one connection's NTLM handshake state.
type ntlmServer struct {
	challenge [8]byte
	flags     uint32 // flags sent in the CHALLENGE message
}

// ntlmMessageType returns the type of an NTLM message (1, 2 or 3).
func ntlmMessageType(b []byte) (uint32, error) {
	if len(b) < 12 || !bytes.Equal(b[:8], ntlmSignature) {
		return 0, errors.New("not an NTLMSSP message")
	}
	return binary.LittleEndian.Uint32(b[8:12]), nil
}

// challengeMessage answers a NEGOTIATE message. It echoes the client's
// flags (Azure/go-ntlmssp refuses a KEY_EXCH it did not ask for), never
// offers LM_KEY, and drops the sealing flags when refuseSeal is set (a server
// that will not seal, for downgrade tests). targetName is the NetBIOS domain;
// now goes into MsvAvTimestamp.
func (n *ntlmServer) challengeMessage(negotiate []byte, targetName string, refuseSeal bool, now time.Time) ([]byte, error) {
	if len(negotiate) < 16 {
		return nil, errors.New("short NEGOTIATE message")
	}
	client := binary.LittleEndian.Uint32(negotiate[12:16])
	if client&flagUnicode == 0 {
		return nil, errors.New("client does not support Unicode")
	}
	flags := client&^(flagLMKey|flagOEM|flagAnonymous) |
		flagUnicode | flagReqTarget | flagNTLM | flagTargetDom | flagTargetInfo | flagVersion
	if refuseSeal {
		flags &^= flagSeal | flagSign | flagKeyExch
	}
	if _, err := rand.Read(n.challenge[:]); err != nil {
		return nil, err
	}
	n.flags = flags

	name := utf16le(targetName)
	var info bytes.Buffer
	avPair := func(id uint16, v []byte) {
		_ = binary.Write(&info, binary.LittleEndian, id)
		_ = binary.Write(&info, binary.LittleEndian, uint16(len(v)))
		info.Write(v)
	}
	ts := make([]byte, 8)
	binary.LittleEndian.PutUint64(ts, uint64(now.UnixNano()/100+116444736000000000))
	avPair(2, name)                                                    // MsvAvNbDomainName
	avPair(1, utf16le("ERCS01"))                                       // MsvAvNbComputerName
	avPair(4, utf16le(strings.ToLower(targetName)+".local"))           // MsvAvDnsDomainName
	avPair(3, utf16le("ercs01."+strings.ToLower(targetName)+".local")) // MsvAvDnsComputerName
	avPair(7, ts)                                                      // MsvAvTimestamp
	avPair(0, nil)                                                     // MsvAvEOL

	const header = 56
	var b bytes.Buffer
	b.Write(ntlmSignature)
	_ = binary.Write(&b, binary.LittleEndian, uint32(2))
	field := func(length, offset int) {
		_ = binary.Write(&b, binary.LittleEndian, uint16(length))
		_ = binary.Write(&b, binary.LittleEndian, uint16(length))
		_ = binary.Write(&b, binary.LittleEndian, uint32(offset))
	}
	field(len(name), header)
	_ = binary.Write(&b, binary.LittleEndian, flags)
	b.Write(n.challenge[:])
	b.Write(make([]byte, 8))
	field(info.Len(), header+len(name))
	b.Write([]byte{10, 0, 0x63, 0x45, 0, 0, 0, 15}) // Version 10.0.17763, NTLM revision 15
	b.Write(name)
	b.Write(info.Bytes())
	return b.Bytes(), nil
}

// ntlmAuth is what a verified AUTHENTICATE message yields.
type ntlmAuth struct {
	User, Domain string
	Flags        uint32
	SessionKey   []byte // ExportedSessionKey
}

// errBadCredentials is returned for a wrong user or password; the caller
// answers 401 without saying which.
var errBadCredentials = errors.New("ntlm: logon failure")

// authenticate verifies an AUTHENTICATE message (NTLMv2 only) against the
// account and derives the session key. It never panics on malformed input.
func (n *ntlmServer) authenticate(msg []byte, acct account) (*ntlmAuth, error) {
	if len(msg) < 64 {
		return nil, errors.New("short AUTHENTICATE message")
	}
	field := func(off int) ([]byte, error) {
		l := int(binary.LittleEndian.Uint16(msg[off:]))
		o := int(binary.LittleEndian.Uint32(msg[off+4:]))
		if o < 0 || l < 0 || o > len(msg) || l > len(msg)-o {
			return nil, fmt.Errorf("AUTHENTICATE field at %d out of range", off)
		}
		return msg[o : o+l], nil
	}
	flags := binary.LittleEndian.Uint32(msg[60:64])
	var parts [6][]byte
	for i := range parts {
		p, err := field(12 + 8*i)
		if err != nil {
			return nil, err
		}
		parts[i] = p
	}
	nt, domainB, userB, esk := parts[1], parts[2], parts[3], parts[5]
	str := func(b []byte) string {
		if flags&flagUnicode != 0 {
			return fromUTF16le(b)
		}
		return string(b)
	}
	a := &ntlmAuth{User: str(userB), Domain: str(domainB), Flags: flags}
	if a.User == "" || len(nt) <= 24 {
		return nil, errBadCredentials // anonymous or NTLMv1: refused
	}
	if !acct.matches(a.Domain, a.User) {
		return nil, errBadCredentials
	}
	proof, blob := nt[:16], nt[16:]
	key := ntowfv2(acct.password, a.User, a.Domain)
	if !hmac.Equal(proof, hmacMD5(key, n.challenge[:], blob)) {
		return nil, errBadCredentials
	}
	baseKey := hmacMD5(key, proof)
	a.SessionKey = baseKey
	if flags&flagKeyExch != 0 {
		if len(esk) != 16 {
			return nil, errors.New("AUTHENTICATE without a session key")
		}
		c, _ := rc4.NewCipher(baseKey)
		a.SessionKey = make([]byte, 16)
		c.XORKeyStream(a.SessionKey, esk)
	}
	return a, nil
}

func ntowfv2(password, user, domain string) []byte {
	h := md4.New()
	h.Write(utf16le(password))
	return hmacMD5(h.Sum(nil), utf16le(strings.ToUpper(user)+domain))
}

func hmacMD5(key []byte, data ...[]byte) []byte {
	m := hmac.New(md5.New, key)
	for _, d := range data {
		m.Write(d)
	}
	return m.Sum(nil)
}

func utf16le(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		binary.LittleEndian.PutUint16(b[2*i:], c)
	}
	return b
}

func fromUTF16le(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
}
