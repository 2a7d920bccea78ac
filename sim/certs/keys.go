package certs

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/runbook-dev/runbook/internal/atomicfile"
)

// Key sizes used by the package. Azure Stack Hub requires RSA keys of at
// least 2048 bits for external certificates; WeakKeyBits is what FlawWeakKey
// produces.
const (
	KeyBits     = 2048
	WeakKeyBits = 1024
)

// keyEntry holds one lazily generated key; once makes concurrent first users
// of the same purpose wait for a single generation.
type keyEntry struct {
	once sync.Once
	key  *rsa.PrivateKey
	err  error
}

var keyCache sync.Map // purpose string -> *keyEntry

var keyDir struct {
	sync.Mutex
	path string
}

// PersistKeys keeps the keys generated from now on in dir (one PEM file per
// purpose, mode 0600) and reuses the ones already there, so that a process
// that starts the simulated stamp again (every -simulate command) does not
// pay for RSA key generation each time. It is process-wide; "" turns it off.
func PersistKeys(dir string) {
	keyDir.Lock()
	keyDir.path = dir
	keyDir.Unlock()
}

// persistedKey loads or generates the key of name in the persistence
// directory; ok is false when persistence is off.
func persistedKey(name string, bits int) (key *rsa.PrivateKey, ok bool, err error) {
	keyDir.Lock()
	dir := keyDir.path
	keyDir.Unlock()
	if dir == "" {
		return nil, false, nil
	}
	file := strings.NewReplacer("/", "-", ":", "-", " ", "-").Replace(name)
	path := filepath.Join(dir, fmt.Sprintf("%s-%d.key.pem", file, bits))
	if b, err := os.ReadFile(path); err == nil {
		if blk, _ := pem.Decode(b); blk != nil {
			if k, err := x509.ParsePKCS1PrivateKey(blk.Bytes); err == nil && k.N.BitLen() == bits {
				return k, true, nil
			}
		}
	}
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		return nil, true, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, true, err
	}
	data := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
	return k, true, atomicfile.WriteUnsynced(path, data, 0o600)
}

// cachedKey returns the process-wide RSA key of the given purpose and size,
// generating it on first use. Different purposes get independent keys, so a
// CA never signs with the key of a leaf it issues.
func cachedKey(purpose string, bits int) (*rsa.PrivateKey, error) {
	v, _ := keyCache.LoadOrStore(fmt.Sprintf("%s/%d", purpose, bits), &keyEntry{})
	e := v.(*keyEntry)
	e.once.Do(func() {
		var ok bool
		if e.key, ok, e.err = persistedKey(purpose, bits); !ok {
			e.key, e.err = rsa.GenerateKey(rand.Reader, bits)
		}
	})
	if e.err != nil {
		return nil, fmt.Errorf("certs: generate %d-bit RSA key for %s: %w", bits, purpose, e.err)
	}
	return e.key, nil
}

// SigningKey returns the process-wide RSA key kept for purpose (for example
// "token-signing" for a simulated identity provider), generating it on first
// use. It lets other simulators share the key cache instead of paying for
// their own key generation in every test.
func SigningKey(purpose string) (*rsa.PrivateKey, error) {
	return cachedKey("signing:"+purpose, KeyBits)
}
