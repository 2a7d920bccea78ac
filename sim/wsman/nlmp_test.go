package wsman

import (
	"bufio"
	"bytes"
	"crypto/rc4"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/bodgit/ntlmssp"
	"github.com/google/go-cmp/cmp"
)

// nlmpExample reads the MS-NLMP 4.2.4 worked example (../../wsman/testdata).
func nlmpExample(t *testing.T) map[string][]byte {
	t.Helper()
	f, err := os.Open("../../wsman/testdata/ms-nlmp-4.2.4.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string][]byte{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<16)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, _ := strings.Cut(line, "=")
		b, err := hex.DecodeString(strings.TrimSpace(v))
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		out[strings.TrimSpace(k)] = b
	}
	return out
}

// TestNLMPExampleAccepted: the simulated acceptor verifies the
// specification's AUTHENTICATE message for its CHALLENGE, derives the
// example's session key and unseals the example's sealed message.
func TestNLMPExampleAccepted(t *testing.T) {
	ex := nlmpExample(t)
	if got := ntowfv2("Password", "User", "Domain"); !bytes.Equal(got, ex["ntowfv2"]) {
		t.Fatalf("NTOWFv2 = %x, want %x", got, ex["ntowfv2"])
	}
	n := &ntlmServer{}
	copy(n.challenge[:], ex["server_challenge"])
	a, err := n.authenticate(ex["authenticate_message"], parseAccount(`Domain\User`, "Password"))
	if err != nil {
		t.Fatal(err)
	}
	if a.User != "User" || a.Domain != "Domain" {
		t.Errorf("user %q domain %q", a.User, a.Domain)
	}
	if !bytes.Equal(a.SessionKey, ex["random_session_key"]) {
		t.Fatalf("session key %x, want the example's %x", a.SessionKey, ex["random_session_key"])
	}
	s, err := newSealSession(a.Flags, a.SessionKey)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.unseal(ex["sealed"], ex["signature"])
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, ex["plaintext"]) {
		t.Errorf("unsealed %x, want %x", got, ex["plaintext"])
	}

	// The same message with one bit of NTProofStr changed is a logon failure.
	bad := bytes.Clone(ex["authenticate_message"])
	bad[bytes.Index(bad, ex["nt_proof_str"])] ^= 1
	if _, err := n.authenticate(bad, parseAccount(`Domain\User`, "Password")); !errors.Is(err, errBadCredentials) {
		t.Errorf("tampered NTProofStr: %v", err)
	}
}

// refClient is an NTLMv2 client written from MS-NLMP 3.1.5.1.2 for these
// tests, independent of the libraries the project uses, so that it can
// send what they do not: OEM strings (as Python's ntlm-auth does), a
// chosen MIC, chosen channel bindings.
type refClient struct {
	user, domain, password, workstation string
	oem                                 bool   // strings in OEM, not UTF-16
	time, clientChallenge, sessionKey   []byte // fixed inputs
	version                             []byte
	bindings                            []byte // MsvAvChannelBindings value, nil for none
}

func (c refClient) str(s string) []byte {
	if c.oem {
		return []byte(s)
	}
	return utf16le(s)
}

// authenticate answers challenge; negotiate is the NEGOTIATE message sent
// before it (for the MIC). It returns the message and the exported session
// key.
func (c refClient) authenticate(t *testing.T, negotiate, challenge []byte) ([]byte, []byte) {
	t.Helper()
	flags := binary.LittleEndian.Uint32(challenge[20:24])
	sc := challenge[24:32]
	o, l := binary.LittleEndian.Uint32(challenge[44:48]), binary.LittleEndian.Uint16(challenge[40:42])
	pairs := challenge[o : o+uint32(l)]
	// Copy the server's pairs without MsvAvEOL; with a timestamp among them,
	// announce a MIC (3.1.5.1.2) and use the server's time.
	var info bytes.Buffer
	ts, mic := c.time, false
	for b := pairs; len(b) >= 4; {
		id, n := binary.LittleEndian.Uint16(b), int(binary.LittleEndian.Uint16(b[2:]))
		if id == avEOL {
			break
		}
		if id == 7 {
			ts, mic = b[4:4+n], true
		}
		info.Write(b[:4+n])
		b = b[4+n:]
	}
	av := func(id uint16, v []byte) {
		_ = binary.Write(&info, binary.LittleEndian, id)
		_ = binary.Write(&info, binary.LittleEndian, uint16(len(v)))
		info.Write(v)
	}
	if mic {
		av(avFlags, []byte{avFlagMICProvided, 0, 0, 0})
	}
	if c.bindings != nil {
		av(avChannelBindings, c.bindings)
	}
	av(avEOL, nil)
	var temp bytes.Buffer
	temp.Write([]byte{1, 1, 0, 0, 0, 0, 0, 0})
	temp.Write(ts)
	temp.Write(c.clientChallenge)
	temp.Write(make([]byte, 4))
	temp.Write(info.Bytes())
	temp.Write(make([]byte, 4))
	key := ntowfv2(c.password, c.user, c.domain)
	proof := hmacMD5(key, sc, temp.Bytes())
	nt := append(proof, temp.Bytes()...)
	lm := append(hmacMD5(key, sc, c.clientChallenge), c.clientChallenge...)
	if mic {
		lm = make([]byte, 24) // 3.3.2: with a timestamp, Z(24)
	}
	kxk := hmacMD5(key, proof)
	rc, _ := rc4.NewCipher(kxk)
	esk := make([]byte, 16)
	rc.XORKeyStream(esk, c.sessionKey)

	header := 72
	if mic {
		header = 88
	}
	payload := [][]byte{c.str(c.domain), c.str(c.user), c.str(c.workstation), lm, nt, esk}
	offsets := make([]int, len(payload))
	off := header
	for i, p := range payload {
		offsets[i] = off
		off += len(p)
	}
	var m bytes.Buffer
	m.WriteString("NTLMSSP\x00")
	_ = binary.Write(&m, binary.LittleEndian, uint32(3))
	for _, i := range []int{3, 4, 0, 1, 2, 5} { // LM, NT, domain, user, workstation, key
		_ = binary.Write(&m, binary.LittleEndian, uint16(len(payload[i])))
		_ = binary.Write(&m, binary.LittleEndian, uint16(len(payload[i])))
		_ = binary.Write(&m, binary.LittleEndian, uint32(offsets[i]))
	}
	_ = binary.Write(&m, binary.LittleEndian, flags)
	m.Write(c.version)
	if mic {
		m.Write(make([]byte, 16))
	}
	for _, p := range payload {
		m.Write(p)
	}
	msg := m.Bytes()
	if mic {
		copy(msg[72:88], hmacMD5(c.sessionKey, negotiate, challenge, msg))
	}
	return msg, c.sessionKey
}

// TestRefClientIsTheExample: the reference client, given the example's
// inputs, writes the example's AUTHENTICATE message byte for byte.
func TestRefClientIsTheExample(t *testing.T) {
	ex := nlmpExample(t)
	c := refClient{
		user: "User", domain: "Domain", password: "Password", workstation: "COMPUTER",
		time: ex["time"], clientChallenge: ex["client_challenge"], sessionKey: ex["random_session_key"],
		version: []byte{0x05, 0x01, 0x28, 0x0a, 0, 0, 0, 0x0f},
	}
	ch := bytes.Clone(ex["challenge_message"])
	// The example's AUTHENTICATE carries the flags the client chose:
	// 0xe2888235 against the CHALLENGE's 0xe28a8233.
	binary.LittleEndian.PutUint32(ch[20:24], binary.LittleEndian.Uint32(ex["authenticate_message"][60:64]))
	got, _ := c.authenticate(t, nil, ch)
	if diff := cmp.Diff(hex.EncodeToString(ex["authenticate_message"]), hex.EncodeToString(got)); diff != "" {
		t.Errorf("AUTHENTICATE (-spec +reference client):\n%s", diff)
	}
}

// requestsNTLMNegotiate is the NEGOTIATE message Python's requests-ntlm
// (ntlm-auth) sends for AZURESTACK\CloudAdmin: flags 0xe2889032, OEM
// strings without NTLMSSP_NEGOTIATE_UNICODE, the domain supplied in OEM,
// version 6.1.7601.
func requestsNTLMNegotiate() []byte {
	var b bytes.Buffer
	b.WriteString("NTLMSSP\x00")
	_ = binary.Write(&b, binary.LittleEndian, uint32(1))
	_ = binary.Write(&b, binary.LittleEndian, uint32(0xe2889032))
	domain := []byte("AZURESTACK")
	for _, f := range [][2]int{{len(domain), 40}, {0, 40 + len(domain)}} {
		_ = binary.Write(&b, binary.LittleEndian, uint16(f[0]))
		_ = binary.Write(&b, binary.LittleEndian, uint16(f[0]))
		_ = binary.Write(&b, binary.LittleEndian, uint32(f[1]))
	}
	b.Write([]byte{6, 1, 0xb1, 0x1d, 0, 0, 0, 0x0f})
	b.Write(domain)
	return b.Bytes()
}

// TestNTLMOEMClient: a NEGOTIATE without NTLMSSP_NEGOTIATE_UNICODE but
// with OEM gets an OEM CHALLENGE (MS-NLMP 3.2.5.1.1), and the client's OEM
// AUTHENTICATE, with its MIC, logs on.
func TestNTLMOEMClient(t *testing.T) {
	neg := requestsNTLMNegotiate()
	srv := &ntlmServer{}
	ch, err := srv.challengeMessage(neg, "AZURESTACK", false, epoch)
	if err != nil {
		t.Fatalf("challenge: %v", err)
	}
	flags := binary.LittleEndian.Uint32(ch[20:24])
	if flags&flagUnicode != 0 || flags&flagOEM == 0 {
		t.Fatalf("CHALLENGE flags %#08x: want OEM without Unicode", flags)
	}
	o, l := binary.LittleEndian.Uint32(ch[16:20]), binary.LittleEndian.Uint16(ch[12:14])
	if name := string(ch[o : o+uint32(l)]); name != "AZURESTACK" {
		t.Errorf("target name %q, want it in OEM", name)
	}
	c := refClient{
		user: "CloudAdmin", domain: "AZURESTACK", password: "Secr3t!", oem: true,
		clientChallenge: []byte("cccccccc"), sessionKey: bytes.Repeat([]byte{7}, 16), version: make([]byte, 8),
	}
	auth, key := c.authenticate(t, neg, ch)
	a, err := srv.authenticate(auth, parseAccount(`AZURESTACK\CloudAdmin`, "Secr3t!"))
	if err != nil {
		t.Fatalf("authenticate: %v", err)
	}
	if a.User != "CloudAdmin" || a.Domain != "AZURESTACK" || !bytes.Equal(a.SessionKey, key) {
		t.Errorf("got user %q domain %q key %x", a.User, a.Domain, a.SessionKey)
	}
}

// TestNTLMChecksMICAndBindings: as a Windows acceptor, the simulator
// refuses an AUTHENTICATE whose MIC does not cover the three messages, and
// one whose channel bindings name another TLS certificate; bindings that
// match, or none at all, pass.
func TestNTLMChecksMICAndBindings(t *testing.T) {
	acct := parseAccount(`AZURESTACK\CloudAdmin`, "Secr3t!")
	cert, other := []byte("the server's certificate"), []byte("another certificate")
	tests := map[string]struct {
		bindings []byte // the client's
		tamper   func(auth []byte)
		wantErr  bool
	}{
		"MIC and bindings right": {bindings: channelBindingsHash(cert)},
		"no bindings":            {},
		"zero bindings":          {bindings: make([]byte, 16)},
		"bindings of another certificate": {
			bindings: channelBindingsHash(other), wantErr: true,
		},
		"MIC changed": {tamper: func(auth []byte) { auth[80] ^= 1 }, wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c, err := ntlmssp.NewClient(ntlmssp.SetUserInfo("CloudAdmin", "Secr3t!"), ntlmssp.SetDomain("AZURESTACK"))
			if err != nil {
				t.Fatal(err)
			}
			neg, _ := c.Authenticate(nil, nil)
			srv := &ntlmServer{bindings: channelBindingsHash(cert)}
			ch, err := srv.challengeMessage(neg, "AZURESTACK", false, epoch)
			if err != nil {
				t.Fatal(err)
			}
			ref := refClient{
				user: "CloudAdmin", domain: "AZURESTACK", password: "Secr3t!",
				clientChallenge: []byte("cccccccc"), sessionKey: bytes.Repeat([]byte{9}, 16), version: make([]byte, 8),
				bindings: tc.bindings,
			}
			auth, _ := ref.authenticate(t, neg, ch)
			if tc.tamper != nil {
				tc.tamper(auth)
			}
			_, err = srv.authenticate(auth, acct)
			if tc.wantErr != (err != nil) {
				t.Fatalf("authenticate = %v, want error %v", err, tc.wantErr)
			}
		})
	}
}
