package wsman

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/rc4"
	"crypto/sha256"
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
	// negotiate and challengeMsg are the first two messages, which the
	// AUTHENTICATE message's MIC covers.
	negotiate, challengeMsg []byte
	// bindings is the MD5 of the channel bindings a client on this TLS
	// connection must send when it sends any (nil over plain HTTP).
	bindings []byte
}

// AV pair ids (MS-NLMP 2.2.2.1) the server reads in a client's NTLMv2
// response.
const (
	avEOL             = 0
	avFlags           = 6
	avChannelBindings = 10

	avFlagMICProvided = 0x2
)

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
// that will not seal, for downgrade tests). It picks the character set as
// MS-NLMP 3.2.5.1.1 says: Unicode when the client offers it, else OEM (as
// Python's requests-ntlm asks, with flags 0xe2889032). targetName is the
// NetBIOS domain; now goes into MsvAvTimestamp.
func (n *ntlmServer) challengeMessage(negotiate []byte, targetName string, refuseSeal bool, now time.Time) ([]byte, error) {
	if len(negotiate) < 16 {
		return nil, errors.New("short NEGOTIATE message")
	}
	client := binary.LittleEndian.Uint32(negotiate[12:16])
	charset := uint32(flagUnicode)
	switch {
	case client&flagUnicode != 0:
	case client&flagOEM != 0:
		charset = flagOEM
	default:
		return nil, errors.New("client offers neither Unicode nor OEM strings")
	}
	flags := client&^(flagLMKey|flagUnicode|flagOEM|flagAnonymous) |
		charset | flagReqTarget | flagNTLM | flagTargetDom | flagTargetInfo | flagVersion
	if refuseSeal {
		flags &^= flagSeal | flagSign | flagKeyExch
	}
	if _, err := rand.Read(n.challenge[:]); err != nil {
		return nil, err
	}
	n.flags = flags
	n.negotiate = append([]byte(nil), negotiate...)

	// The target name is in the chosen character set; AV pairs are always
	// Unicode.
	name := []byte(targetName)
	if charset == flagUnicode {
		name = utf16le(targetName)
	}
	var info bytes.Buffer
	avPair := func(id uint16, v []byte) {
		_ = binary.Write(&info, binary.LittleEndian, id)
		_ = binary.Write(&info, binary.LittleEndian, uint16(len(v)))
		info.Write(v)
	}
	ts := make([]byte, 8)
	binary.LittleEndian.PutUint64(ts, uint64(now.UnixNano()/100+116444736000000000))
	avPair(2, utf16le(targetName))                                     // MsvAvNbDomainName
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
	n.challengeMsg = b.Bytes()
	return n.challengeMsg, nil
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
// account and derives the session key. As a Windows acceptor does, it
// checks the MIC when the client's MsvAvFlags say one is there, and channel
// bindings when the client sends them on a TLS connection (a client that
// sends none passes: CbtHardeningLevel Relaxed). It never panics on
// malformed input.
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
	pairs := avPairs(blob)
	if f := pairs[avFlags]; len(f) == 4 && binary.LittleEndian.Uint32(f)&avFlagMICProvided != 0 {
		if len(msg) < 88 {
			return nil, errors.New("AUTHENTICATE without its MIC")
		}
		zeroed := append([]byte(nil), msg...)
		clear(zeroed[72:88])
		if !hmac.Equal(msg[72:88], hmacMD5(a.SessionKey, n.negotiate, n.challengeMsg, zeroed)) {
			return nil, errBadCredentials
		}
	}
	if cb := pairs[avChannelBindings]; n.bindings != nil && len(cb) > 0 && !bytes.Equal(cb, make([]byte, len(cb))) {
		if !hmac.Equal(cb, n.bindings) {
			return nil, errBadCredentials
		}
	}
	return a, nil
}

// avPairs reads the AV pairs of an NTLMv2 client blob (MS-NLMP 2.2.2.7:
// 28 bytes of header, then the pairs), stopping at MsvAvEOL or at the
// first malformed pair.
func avPairs(blob []byte) map[uint16][]byte {
	out := map[uint16][]byte{}
	if len(blob) < 28 {
		return out
	}
	b := blob[28:]
	for len(b) >= 4 {
		id, l := binary.LittleEndian.Uint16(b), int(binary.LittleEndian.Uint16(b[2:]))
		if id == avEOL || len(b) < 4+l {
			break
		}
		out[id] = b[4 : 4+l]
		b = b[4+l:]
	}
	return out
}

// channelBindingsHash is the MD5 of the gss_channel_bindings_struct of a
// TLS server certificate (MS-NLMP 2.2.2.1 MsvAvChannelBindings, RFC 5929
// tls-server-end-point): no addresses, and application data
// "tls-server-end-point:" followed by the certificate's SHA-256 hash (the
// hash of a SHA-256 signed certificate, as the simulator's are).
func channelBindingsHash(certDER []byte) []byte {
	sum := sha256.Sum256(certDER)
	app := append([]byte("tls-server-end-point:"), sum[:]...)
	s := make([]byte, 16, 20+len(app))
	s = binary.LittleEndian.AppendUint32(s, uint32(len(app)))
	s = append(s, app...)
	h := md5.Sum(s)
	return h[:]
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
