package psrp

import (
	"bytes"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var (
	keyOnce sync.Once
	keyPair *rsa.PrivateKey
	keyErr  error
)

// testKey returns one RSA key pair for the whole test binary: generating
// 2048-bit keys is slow on a shared machine.
func testKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	keyOnce.Do(func() { keyPair, keyErr = GenerateKeyPair(nil) })
	if keyErr != nil {
		t.Fatal(keyErr)
	}
	return keyPair
}

func fixedKey(b byte) *SessionKey {
	k := new(SessionKey)
	for i := range k.k {
		k.k[i] = b + byte(i)
	}
	return k
}

func TestKeyExchangeBothWays(t *testing.T) {
	priv := testKey(t)

	// Client: PUBLIC_KEY message.
	blob, err := MarshalPublicKeyBlob(&priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if len(blob) != 20+KeyBits/8 {
		t.Fatalf("public key blob is %d bytes, want %d", len(blob), 20+KeyBits/8)
	}
	data, err := Marshal(PublicKeyObject(blob), nil)
	if err != nil {
		t.Fatal(err)
	}

	// Server: read it, make a session key, answer ENCRYPTED_SESSION_KEY.
	v, err := Unmarshal(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	gotBlob, err := ParseKeyBlob(v, "PublicKey")
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ParsePublicKeyBlob(gotBlob)
	if err != nil {
		t.Fatal(err)
	}
	if pub.E != priv.E || pub.N.Cmp(priv.N) != 0 {
		t.Fatal("public key did not survive the blob")
	}
	serverKey, err := NewSessionKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	esk, err := serverKey.EncryptTo(nil, pub)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(esk, simpleBlobHeader) || len(esk) != len(simpleBlobHeader)+KeyBits/8 {
		t.Fatalf("ENCRYPTED_SESSION_KEY blob has the wrong shape (%d bytes)", len(esk))
	}
	data, err = Marshal(EncryptedSessionKeyObject(esk), nil)
	if err != nil {
		t.Fatal(err)
	}

	// Client: unwrap.
	v, err = Unmarshal(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	gotESK, err := ParseKeyBlob(v, "EncryptedSessionKey")
	if err != nil {
		t.Fatal(err)
	}
	clientKey, err := DecryptSessionKey(priv, gotESK)
	if err != nil {
		t.Fatal(err)
	}
	if !clientKey.Equal(serverKey) {
		t.Fatal("client and server hold different session keys")
	}

	// A SecureString sent either way decrypts on the other side.
	const secret = "Canary-7f3a!€"
	for name, pair := range map[string][2]*SessionKey{"client to server": {clientKey, serverKey}, "server to client": {serverKey, clientKey}} {
		b, err := Marshal(&Object{Members: []Property{{"BmcPassword", NewSecureString(secret)}}}, pair[0])
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(secret)) {
			t.Fatalf("%s: serialized SecureString contains the plain text", name)
		}
		v, err := Unmarshal(b, pair[1])
		if err != nil {
			t.Fatal(err)
		}
		ss, _ := v.(*Object).Get("BmcPassword")
		if got, ok := ss.(SecureString).Reveal(); !ok || got != secret {
			t.Fatalf("%s: decrypted a different value", name)
		}
	}
}

func TestSecureStringKnownAnswer(t *testing.T) {
	// Vectors made with openssl enc -aes-256-cbc over the UTF-16LE text
	// and a zero IV, independently of this package.
	tests := map[string]struct {
		key   *SessionKey
		plain string
		want  string
	}{
		"zero key, one character":  {new(SessionKey), "a", "XSLaT6kyKzJnwiZS0/ThoQ=="},
		"counting key, two blocks": {fixedKey(0), "P@ssword!", "IPB9duQseT9/rvht2/GPAq0e2vtn418G/nrYPWkIF1g="},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := base64.StdEncoding.EncodeToString(tc.key.Encrypt(tc.plain))
			if got != tc.want {
				t.Fatalf("Encrypt = %s, want %s", got, tc.want)
			}
			ct, _ := base64.StdEncoding.DecodeString(tc.want)
			back, err := tc.key.Decrypt(ct)
			if err != nil || back != tc.plain {
				t.Fatalf("Decrypt = %q, %v", back, err)
			}
		})
	}
}

func TestSecureStringDecryptRejects(t *testing.T) {
	k := fixedKey(0)
	good := k.Encrypt("password")
	tests := map[string][]byte{
		"empty":           nil,
		"not whole block": good[:len(good)-1],
		"wrong key":       fixedKey(0x40).Encrypt("password"),
	}
	for name, ct := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := k.Decrypt(ct); err == nil {
				t.Fatal("Decrypt succeeded")
			} else if strings.Contains(err.Error(), "password") {
				t.Fatalf("error %q quotes the data", err)
			}
		})
	}
}

func TestSecretsDoNotPrint(t *testing.T) {
	const canary = "Canary-Secret-42"
	ss := NewSecureString(canary)
	k := fixedKey(0x11)
	outs := []string{
		fmt.Sprint(ss), fmt.Sprintf("%s %q %v %+v %#v %x %X %d", ss, ss, ss, ss, ss, ss, ss, ss),
		fmt.Sprintf("%v %+v %#v %x %s", k, k, k, k, k),
		fmt.Sprintf("%v", struct{ P SecureString }{ss}),
		fmt.Sprintf("%+v", &Object{Members: []Property{{"p", ss}}}),
	}
	js, err := json.Marshal(map[string]any{"p": ss})
	if err != nil {
		t.Fatal(err)
	}
	outs = append(outs, string(js))
	keyHex := fmt.Sprintf("%x", k.k[:])
	for _, o := range outs {
		if strings.Contains(o, canary) || strings.Contains(o, keyHex) {
			t.Errorf("printed a secret: %s", o)
		}
	}
	if got, _ := ss.Reveal(); got != canary {
		t.Fatal("Reveal lost the value")
	}
}

func TestSecureStringWithoutKeyPassesThrough(t *testing.T) {
	k := fixedKey(3)
	b, err := Marshal(NewSecureString("x"), k)
	if err != nil {
		t.Fatal(err)
	}
	v, err := Unmarshal(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	ss := v.(SecureString)
	if _, ok := ss.Reveal(); ok {
		t.Fatal("a SecureString decoded without a key claims to know its value")
	}
	again, err := Marshal(ss, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(b), string(again)); diff != "" {
		t.Errorf("ciphertext not passed through (-want +got):\n%s", diff)
	}
}

func TestPublicKeyBlobRejects(t *testing.T) {
	priv := testKey(t)
	good, _ := MarshalPublicKeyBlob(&priv.PublicKey)
	mutate := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	tests := map[string][]byte{
		"short":         good[:10],
		"not RSA1":      mutate(func(b []byte) []byte { b[8] = 'X'; return b }),
		"wrong type":    mutate(func(b []byte) []byte { b[0] = 7; return b }),
		"truncated":     good[:len(good)-1],
		"even exponent": mutate(func(b []byte) []byte { b[16] = 4; b[17], b[18], b[19] = 0, 0, 0; return b }),
		"odd bit size":  mutate(func(b []byte) []byte { b[12] = 1; return b }),
	}
	for name, b := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := ParsePublicKeyBlob(b); err == nil {
				t.Fatal("ParsePublicKeyBlob succeeded")
			}
		})
	}
}

func TestDecryptSessionKeyRejects(t *testing.T) {
	priv := testKey(t)
	k := fixedKey(9)
	good, err := k.EncryptTo(nil, &priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	//lint:ignore SA1019 MS-PSRP wraps the session key (ENCRYPTED_SESSION_KEY) with RSA PKCS#1 v1.5; the protocol leaves no choice
	other, err := rsa.EncryptPKCS1v15(nil, &priv.PublicKey, []byte("sixteen byte key"))
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string][]byte{
		"no header":    good[len(simpleBlobHeader):],
		"AES-128 blob": append([]byte{1, 2, 0, 0, 0x0E, 0x66, 0, 0, 0, 0xA4, 0, 0}, good[len(simpleBlobHeader):]...),
		"not reversed": append(bytes.Clone(simpleBlobHeader), reversed(good[len(simpleBlobHeader):])...),
		"short key":    append(bytes.Clone(simpleBlobHeader), reversed(other)...),
		"header only":  simpleBlobHeader,
	}
	for name, b := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := DecryptSessionKey(priv, b); err == nil {
				t.Fatal("DecryptSessionKey succeeded")
			}
		})
	}
}

func reversed(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		out[len(b)-1-i] = c
	}
	return out
}
