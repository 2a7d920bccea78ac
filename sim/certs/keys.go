package certs

import (
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"sync"
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

// cachedKey returns the process-wide RSA key of the given purpose and size,
// generating it on first use. Different purposes get independent keys, so a
// CA never signs with the key of a leaf it issues.
func cachedKey(purpose string, bits int) (*rsa.PrivateKey, error) {
	v, _ := keyCache.LoadOrStore(fmt.Sprintf("%s/%d", purpose, bits), &keyEntry{})
	e := v.(*keyEntry)
	e.once.Do(func() {
		e.key, e.err = rsa.GenerateKey(rand.Reader, bits)
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
