package state

import (
	"crypto/hmac"
	"crypto/sha256"
)

// The runbook key (Backend.Key) is never used directly: each use gets a
// key of its own, derived with HMAC-SHA-256 over a purpose string, so that
// no MAC made for one purpose is valid for another (a saved plan's MAC
// cannot pass for a step fingerprint, nor one plan's for another's).

// DeriveKey returns the key for one purpose.
func DeriveKey(key []byte, purpose string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(purpose))
	return m.Sum(nil)
}

// FingerprintPrefix begins every fingerprint of a sensitive value
// (executor.Fingerprint): an HMAC keyed with StepKey, which means nothing
// under another key and cannot be re-keyed without the value.
const FingerprintPrefix = "hmac-sha256:"

// StepKey keys the fingerprints of sensitive values that steps journal and
// later plans compare: the same for every plan, unlike PlanKey.
func StepKey(key []byte) []byte { return DeriveKey(key, "step fingerprints") }

// PlanKey keys the MAC of the saved plan planID.
func PlanKey(key []byte, planID string) []byte { return DeriveKey(key, "plan file "+planID) }
