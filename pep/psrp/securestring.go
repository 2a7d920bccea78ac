package psrp

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"unicode/utf16"
)

// secureStringText is what a SecureString shows instead of its value: the
// type name, as PowerShell prints it.
const secureStringText = "System.Security.SecureString"

// SecureString is a secret that travels as an <SS> element (§2.2.5.1.24).
// It holds either the plain text (when built by NewSecureString or decoded
// with the session key) or only the ciphertext (when decoded without one).
// Every way of printing it (String, GoString, all fmt verbs, JSON and text
// marshalling) yields "System.Security.SecureString"; the value is reachable
// only through Reveal.
type SecureString struct {
	plain  string
	clear  bool
	cipher []byte
}

// NewSecureString wraps a plain-text secret.
func NewSecureString(plain string) SecureString { return SecureString{plain: plain, clear: true} }

// Reveal returns the plain text and whether it is known.
func (s SecureString) Reveal() (string, bool) { return s.plain, s.clear }

// Ciphertext returns the encrypted form received on the wire, if any.
func (s SecureString) Ciphertext() []byte { return bytes.Clone(s.cipher) }

// Equal reports whether two SecureStrings hold the same plain text, or,
// when neither has plain text, the same ciphertext. It compares in
// constant time.
func (s SecureString) Equal(o SecureString) bool {
	if s.clear != o.clear {
		return false
	}
	if s.clear {
		return subtle.ConstantTimeCompare([]byte(s.plain), []byte(o.plain)) == 1
	}
	return subtle.ConstantTimeCompare(s.cipher, o.cipher) == 1
}

func (SecureString) String() string   { return secureStringText }
func (SecureString) GoString() string { return "psrp.SecureString{…}" }

// Format writes the type name for every verb, so %v, %s, %q, %x and %#v
// never show the secret.
func (SecureString) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, secureStringText) }

// MarshalText implements encoding.TextMarshaler without the secret.
func (SecureString) MarshalText() ([]byte, error) { return []byte(secureStringText), nil }

// ErrNoSessionKey reports a SecureString to encrypt before the session key
// exchange.
var ErrNoSessionKey = errors.New("psrp: no session key: the key exchange must come before a SecureString is sent")

// SessionKey is the 256-bit AES key a RunspacePool's SecureStrings are
// encrypted with (§3.1.1.2.7). It prints as a placeholder.
type SessionKey struct{ k [32]byte }

// NewSessionKey draws a fresh key from r, or crypto/rand when r is nil. The
// server side of the exchange creates it.
func NewSessionKey(r io.Reader) (*SessionKey, error) {
	if r == nil {
		r = rand.Reader
	}
	k := new(SessionKey)
	if _, err := io.ReadFull(r, k.k[:]); err != nil {
		return nil, fmt.Errorf("psrp: new session key: %w", err)
	}
	return k, nil
}

func (*SessionKey) String() string   { return "psrp.SessionKey{…}" }
func (*SessionKey) GoString() string { return "psrp.SessionKey{…}" }

// Format hides the key bytes from every fmt verb.
func (*SessionKey) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, "psrp.SessionKey{…}") }

// Equal reports whether two keys are the same, in constant time.
func (k *SessionKey) Equal(o *SessionKey) bool {
	if k == nil || o == nil {
		return k == o
	}
	return subtle.ConstantTimeCompare(k.k[:], o.k[:]) == 1
}

// zeroIV is the initialisation vector PowerShell uses for every
// SecureString: it is fixed at zero (as pypsrp and PowerShell's
// PSRemotingCryptoHelper do), so equal secrets encrypt to equal ciphertexts
// within one session. That is the protocol, not a choice made here.
var zeroIV [aes.BlockSize]byte

// Encrypt encrypts plain as a SecureString's content: UTF-16LE, PKCS#7
// padding, AES-256-CBC with a zero IV.
func (k *SessionKey) Encrypt(plain string) []byte {
	u := utf16.Encode([]rune(plain))
	pad := aes.BlockSize - (2*len(u))%aes.BlockSize
	buf := make([]byte, 0, 2*len(u)+pad)
	for _, c := range u {
		buf = append(buf, byte(c), byte(c>>8))
	}
	for range pad {
		buf = append(buf, byte(pad))
	}
	block, err := aes.NewCipher(k.k[:])
	if err != nil {
		panic(err) // the key is always 32 bytes
	}
	cipher.NewCBCEncrypter(block, zeroIV[:]).CryptBlocks(buf, buf)
	return buf
}

// Decrypt reverses Encrypt. Its error never contains the data.
func (k *SessionKey) Decrypt(ct []byte) (string, error) {
	if len(ct) == 0 || len(ct)%aes.BlockSize != 0 {
		return "", fmt.Errorf("psrp: SecureString of %d bytes is not a whole number of AES blocks", len(ct))
	}
	block, err := aes.NewCipher(k.k[:])
	if err != nil {
		panic(err)
	}
	buf := make([]byte, len(ct))
	cipher.NewCBCDecrypter(block, zeroIV[:]).CryptBlocks(buf, ct)
	pad := int(buf[len(buf)-1])
	if pad == 0 || pad > aes.BlockSize {
		return "", errors.New("psrp: SecureString padding is invalid (wrong session key?)")
	}
	for _, c := range buf[len(buf)-pad:] {
		if int(c) != pad {
			return "", errors.New("psrp: SecureString padding is invalid (wrong session key?)")
		}
	}
	buf = buf[:len(buf)-pad]
	if len(buf)%2 != 0 {
		return "", errors.New("psrp: SecureString is not UTF-16")
	}
	u := make([]uint16, len(buf)/2)
	for i := range u {
		u[i] = uint16(buf[2*i]) | uint16(buf[2*i+1])<<8
	}
	clear(buf)
	return string(utf16.Decode(u)), nil
}
