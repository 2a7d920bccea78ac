package wsman

import (
	"bufio"
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/rc4"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"math/big"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// These tests hold the client's NTLM (bodgit/ntlmssp as newNTLMClient sets
// it up) to the NTLMv2 worked example of MS-NLMP 4.2.4 in testdata, and to
// the specification's formulas for what the example leaves out and a
// Windows acceptor checks: the MIC (3.1.5.1.2) and channel bindings
// (2.2.2.1, RFC 5929).

func nlmpExample(t *testing.T) map[string][]byte {
	t.Helper()
	f, err := os.Open("testdata/ms-nlmp-4.2.4.txt")
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

func hmacMD5(key []byte, data ...[]byte) []byte {
	m := hmac.New(md5.New, key)
	for _, d := range data {
		m.Write(d)
	}
	return m.Sum(nil)
}

// refSeal is GSS_WrapEx with extended session security and key exchange
// (MS-NLMP 3.4.3, 3.4.4.2), client to server, written from the
// specification: the sealed message and its signature.
func refSeal(exportedKey, msg []byte, seq uint32) ([]byte, []byte) {
	sealKey := md5.Sum(append(bytes.Clone(exportedKey), "session key to client-to-server sealing key magic constant\x00"...))
	signKey := md5.Sum(append(bytes.Clone(exportedKey), "session key to client-to-server signing key magic constant\x00"...))
	c, _ := rc4.NewCipher(sealKey[:])
	sealed := make([]byte, len(msg))
	c.XORKeyStream(sealed, msg)
	s := binary.LittleEndian.AppendUint32(nil, seq)
	checksum := make([]byte, 8)
	c.XORKeyStream(checksum, hmacMD5(signKey[:], s, msg)[:8])
	sig := append(binary.LittleEndian.AppendUint32(nil, 1), checksum...)
	return sealed, append(sig, s...)
}

// field returns a security buffer of an NTLM message.
func field(m []byte, off int) []byte {
	l, o := int(binary.LittleEndian.Uint16(m[off:])), int(binary.LittleEndian.Uint32(m[off+4:]))
	return m[o : o+l]
}

// avPairs reads AV pairs up to MsvAvEOL.
func avPairs(b []byte) map[uint16][]byte {
	out := map[uint16][]byte{}
	for len(b) >= 4 {
		id, n := binary.LittleEndian.Uint16(b), int(binary.LittleEndian.Uint16(b[2:]))
		if id == 0 || len(b) < 4+n {
			break
		}
		out[id] = b[4 : 4+n]
		b = b[4+n:]
	}
	return out
}

func TestRefSealIsTheExample(t *testing.T) {
	ex := nlmpExample(t)
	sealed, sig := refSeal(ex["random_session_key"], ex["plaintext"], 0)
	if !bytes.Equal(sealed, ex["sealed"]) || !bytes.Equal(sig, ex["signature"]) {
		t.Fatalf("GSS_WrapEx = %x %x, want %x %x", sealed, sig, ex["sealed"], ex["signature"])
	}
}

// exchange runs the client's NTLM against challenge and returns the
// NEGOTIATE and AUTHENTICATE messages and the exported session key, which
// the test recovers with the example's NTOWFv2 (so the key matches only if
// the client's NTOWFv2 is the example's).
func exchange(t *testing.T, ex map[string][]byte, challenge func(neg []byte) []byte, cs *tls.ConnectionState) (neg, ch, auth, key []byte) {
	t.Helper()
	c, err := newNTLMClient(`Domain\User`, "Password")
	if err != nil {
		t.Fatal(err)
	}
	if neg, err = c.Authenticate(nil, nil); err != nil {
		t.Fatal(err)
	}
	ch = challenge(neg)
	var cb = channelBindings(tls.ConnectionState{})
	if cs != nil {
		cb = channelBindings(*cs)
	}
	if auth, err = c.Authenticate(ch, cb); err != nil {
		t.Fatal(err)
	}
	nt := field(auth, 20)
	proof, temp := nt[:16], nt[16:]
	if want := hmacMD5(ex["ntowfv2"], ex["server_challenge"], temp); !bytes.Equal(proof, want) {
		t.Fatalf("NTProofStr %x, want HMAC_MD5(the example's NTOWFv2, challenge‖temp) = %x", proof, want)
	}
	rc, _ := rc4.NewCipher(hmacMD5(ex["ntowfv2"], proof))
	key = make([]byte, 16)
	rc.XORKeyStream(key, field(auth, 52))
	// The session the client seals with uses that key.
	sealed, sig, err := c.SecuritySession().Wrap(ex["plaintext"])
	if err != nil {
		t.Fatal(err)
	}
	wantSealed, wantSig := refSeal(key, ex["plaintext"], 0)
	if !bytes.Equal(sealed, wantSealed) || !bytes.Equal(sig, wantSig) {
		t.Errorf("sealed %x %x, want %x %x", sealed, sig, wantSealed, wantSig)
	}
	return neg, ch, auth, key
}

// TestClientNTLMExample: against the example's CHALLENGE the client
// negotiates NTLMv2 with sealing, names the example's user and domain,
// computes the example's NTOWFv2, echoes the server's AV pairs and seals
// as GSS_WrapEx does.
func TestClientNTLMExample(t *testing.T) {
	ex := nlmpExample(t)
	neg, _, auth, _ := exchange(t, ex, func([]byte) []byte { return ex["challenge_message"] }, nil)
	if flags := binary.LittleEndian.Uint32(neg[12:16]); flags&requiredSealFlags != requiredSealFlags || flags&1 == 0 {
		t.Errorf("NEGOTIATE flags %#08x lack Unicode or sealing", flags)
	}
	if got := field(auth, 36); !bytes.Equal(got, ex["user"]) {
		t.Errorf("user %x, want %x", got, ex["user"])
	}
	if got := field(auth, 28); !bytes.Equal(got, ex["domain"]) {
		t.Errorf("domain %x, want %x", got, ex["domain"])
	}
	server := avPairs(field(ex["challenge_message"], 40))
	client := avPairs(field(auth, 20)[16+28:])
	for id, v := range server {
		if !bytes.Equal(client[id], v) {
			t.Errorf("AV pair %d: %x, want the server's %x", id, client[id], v)
		}
	}
}

// windowsChallenge is the example's CHALLENGE with the MsvAvTimestamp a
// Windows server always adds, which obliges the client to send a MIC.
func windowsChallenge(ex map[string][]byte) []byte {
	ch := ex["challenge_message"]
	info := field(ch, 40)
	info = append(bytes.Clone(info[:len(info)-4]), 7, 0, 8, 0, 0, 0x80, 0x3e, 0xd5, 0xde, 0xb1, 0x9d, 0x01, 0, 0, 0, 0)
	name := field(ch, 12)
	out := bytes.Clone(ch[:56])
	binary.LittleEndian.PutUint16(out[40:], uint16(len(info)))
	binary.LittleEndian.PutUint16(out[42:], uint16(len(info)))
	binary.LittleEndian.PutUint32(out[44:], uint32(56+len(name)))
	return append(append(out, name...), info...)
}

// TestClientNTLMMIC: given a timestamp, the client sets MsvAvFlags'
// MIC-present bit and a MIC of HMAC_MD5(ExportedSessionKey,
// NEGOTIATE‖CHALLENGE‖AUTHENTICATE with the MIC zeroed).
func TestClientNTLMMIC(t *testing.T) {
	ex := nlmpExample(t)
	neg, ch, auth, key := exchange(t, ex, func([]byte) []byte { return windowsChallenge(ex) }, nil)
	pairs := avPairs(field(auth, 20)[16+28:])
	if f := pairs[6]; len(f) != 4 || binary.LittleEndian.Uint32(f)&2 == 0 {
		t.Fatalf("MsvAvFlags %x: no MIC announced", f)
	}
	if ts := pairs[7]; !bytes.Equal(ts, avPairs(field(ch, 40))[7]) {
		t.Errorf("timestamp %x, want the server's", ts)
	}
	zeroed := bytes.Clone(auth)
	clear(zeroed[72:88])
	if want := hmacMD5(key, neg, ch, zeroed); !bytes.Equal(auth[72:88], want) {
		t.Errorf("MIC %x, want %x", auth[72:88], want)
	}
}

// TestClientChannelBindings: over HTTPS the client binds NTLM to the
// server's certificate: MsvAvChannelBindings is the MD5 of a
// gss_channel_bindings_struct with no addresses and the application data
// "tls-server-end-point:" ‖ the certificate's hash, with the certificate's
// own signature hash, SHA-256 for MD5 and SHA-1 (RFC 5929 4.1).
func TestClientChannelBindings(t *testing.T) {
	ex := nlmpExample(t)
	tests := map[string]struct {
		curve elliptic.Curve
		hash  crypto.Hash
	}{
		"P-256, ECDSA with SHA-256": {elliptic.P256(), crypto.SHA256},
		"P-384, ECDSA with SHA-384": {elliptic.P384(), crypto.SHA384},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			key, err := ecdsa.GenerateKey(tc.curve, rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			der, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{SerialNumber: big.NewInt(1)}, &x509.Certificate{SerialNumber: big.NewInt(1)}, &key.PublicKey, key)
			if err != nil {
				t.Fatal(err)
			}
			cert, err := x509.ParseCertificate(der)
			if err != nil {
				t.Fatal(err)
			}
			_, _, auth, _ := exchange(t, ex, func([]byte) []byte { return windowsChallenge(ex) }, &tls.ConnectionState{PeerCertificates: []*x509.Certificate{cert}})
			h := tc.hash.New()
			h.Write(der)
			app := append([]byte("tls-server-end-point:"), h.Sum(nil)...)
			st := binary.LittleEndian.AppendUint32(make([]byte, 16), uint32(len(app)))
			want := md5.Sum(append(st, app...))
			got := avPairs(field(auth, 20)[16+28:])[10]
			if diff := cmp.Diff(hex.EncodeToString(want[:]), hex.EncodeToString(got)); diff != "" {
				t.Errorf("MsvAvChannelBindings (-want +got):\n%s", diff)
			}
		})
	}
}
