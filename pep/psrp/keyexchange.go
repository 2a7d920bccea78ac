package psrp

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/big"
	"slices"
)

// The session-key exchange (§3.1.5.4.3-4, §3.2.5.4.3-4): the client sends
// its RSA public key as a CryptoAPI PUBLICKEYBLOB; the server answers with a
// fresh AES-256 key encrypted to it (RSAES-PKCS1-v1_5) inside a CryptoAPI
// SIMPLEBLOB. CryptoAPI writes big numbers least-significant byte first, so
// the modulus and the ciphertext are byte-reversed against Go's big-endian
// forms.

// KeyBits is the RSA key size the specification prescribes.
const KeyBits = 2048

// publicKeyBlobHeader: bType PUBLICKEYBLOB (6), bVersion 2, reserved 0,
// aiKeyAlg CALG_RSA_KEYX (0x0000A400, little-endian), then the RSAPUBKEY
// magic "RSA1".
var publicKeyBlobHeader = []byte{0x06, 0x02, 0x00, 0x00, 0x00, 0xA4, 0x00, 0x00, 'R', 'S', 'A', '1'}

// simpleBlobHeader: bType SIMPLEBLOB (1), bVersion 2, reserved 0, aiKeyAlg
// CALG_AES_256 (0x00006610), then algid CALG_RSA_KEYX (0x0000A400), all
// little-endian (§2.2.2.4).
var simpleBlobHeader = []byte{0x01, 0x02, 0x00, 0x00, 0x10, 0x66, 0x00, 0x00, 0x00, 0xA4, 0x00, 0x00}

// GenerateKeyPair creates the client's 2048-bit RSA key pair from r, or
// crypto/rand when r is nil.
func GenerateKeyPair(r io.Reader) (*rsa.PrivateKey, error) {
	if r == nil {
		r = rand.Reader
	}
	k, err := rsa.GenerateKey(r, KeyBits)
	if err != nil {
		return nil, fmt.Errorf("psrp: generate RSA key: %w", err)
	}
	return k, nil
}

// MarshalPublicKeyBlob encodes pub as the PUBLIC_KEY message's blob:
// header, bit length, public exponent and modulus, little-endian.
func MarshalPublicKeyBlob(pub *rsa.PublicKey) ([]byte, error) {
	bits := pub.N.BitLen()
	size := (bits + 7) / 8
	if bits%8 != 0 {
		bits = size * 8
	}
	if pub.E <= 1 || uint64(pub.E) > 0xFFFFFFFF {
		return nil, fmt.Errorf("psrp: RSA exponent %d does not fit a PUBLICKEYBLOB", pub.E)
	}
	b := slices.Clone(publicKeyBlobHeader)
	b = binary.LittleEndian.AppendUint32(b, uint32(bits))
	b = binary.LittleEndian.AppendUint32(b, uint32(pub.E))
	mod := pub.N.FillBytes(make([]byte, size))
	slices.Reverse(mod)
	return append(b, mod...), nil
}

// ParsePublicKeyBlob decodes a PUBLIC_KEY blob.
func ParsePublicKeyBlob(b []byte) (*rsa.PublicKey, error) {
	if len(b) < len(publicKeyBlobHeader)+8 || !bytes.Equal(b[:len(publicKeyBlobHeader)], publicKeyBlobHeader) {
		return nil, errors.New("psrp: public key is not an RSA PUBLICKEYBLOB")
	}
	bits := binary.LittleEndian.Uint32(b[12:16])
	exp := binary.LittleEndian.Uint32(b[16:20])
	if bits < 1024 || bits > 16384 || bits%8 != 0 {
		return nil, fmt.Errorf("psrp: public key of %d bits is not supported", bits)
	}
	mod := b[20:]
	if len(mod) != int(bits/8) {
		return nil, fmt.Errorf("psrp: public key modulus is %d bytes, the header says %d bits", len(mod), bits)
	}
	if exp < 3 || exp%2 == 0 {
		return nil, fmt.Errorf("psrp: public key exponent %d is not usable", exp)
	}
	be := slices.Clone(mod)
	slices.Reverse(be)
	n := new(big.Int).SetBytes(be)
	if n.BitLen() < int(bits)-8 {
		return nil, errors.New("psrp: public key modulus is shorter than its declared size")
	}
	return &rsa.PublicKey{N: n, E: int(exp)}, nil
}

// EncryptTo wraps k for the client that owns pub, as the body of an
// ENCRYPTED_SESSION_KEY message: SIMPLEBLOB header, then the PKCS#1 v1.5
// ciphertext byte-reversed. r supplies the padding randomness; nil means
// crypto/rand.
func (k *SessionKey) EncryptTo(r io.Reader, pub *rsa.PublicKey) ([]byte, error) {
	if r == nil {
		r = rand.Reader
	}
	//lint:ignore SA1019 MS-PSRP wraps the session key (ENCRYPTED_SESSION_KEY) with RSA PKCS#1 v1.5; the protocol leaves no choice
	ct, err := rsa.EncryptPKCS1v15(r, pub, k.k[:])
	if err != nil {
		return nil, fmt.Errorf("psrp: encrypt session key: %w", err)
	}
	slices.Reverse(ct)
	return append(slices.Clone(simpleBlobHeader), ct...), nil
}

// DecryptSessionKey unwraps an ENCRYPTED_SESSION_KEY blob with the client's
// private key.
func DecryptSessionKey(priv *rsa.PrivateKey, blob []byte) (*SessionKey, error) {
	if len(blob) <= len(simpleBlobHeader) || !bytes.Equal(blob[:len(simpleBlobHeader)], simpleBlobHeader) {
		return nil, errors.New("psrp: session key is not an AES-256 SIMPLEBLOB")
	}
	ct := slices.Clone(blob[len(simpleBlobHeader):])
	slices.Reverse(ct)
	//lint:ignore SA1019 MS-PSRP wraps the session key (ENCRYPTED_SESSION_KEY) with RSA PKCS#1 v1.5; the protocol leaves no choice
	plain, err := rsa.DecryptPKCS1v15(nil, priv, ct)
	if err != nil {
		return nil, errors.New("psrp: session key does not decrypt with our private key")
	}
	if len(plain) != 32 {
		clear(plain)
		return nil, fmt.Errorf("psrp: session key is %d bytes, want 32", len(plain))
	}
	k := new(SessionKey)
	copy(k.k[:], plain)
	clear(plain)
	return k, nil
}
