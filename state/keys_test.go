package state

import (
	"bytes"
	"encoding/hex"
	"testing"
)

func TestDerivedKeys(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	other := bytes.Repeat([]byte{8}, 32)
	tests := map[string]struct {
		a, b []byte
		same bool
	}{
		"step key is stable":           {a: StepKey(key), b: StepKey(key), same: true},
		"plan key is stable":           {a: PlanKey(key, "p1"), b: PlanKey(key, "p1"), same: true},
		"plans have their own keys":    {a: PlanKey(key, "p1"), b: PlanKey(key, "p2")},
		"a plan key is no step key":    {a: PlanKey(key, "p1"), b: StepKey(key)},
		"another runbook key differs":  {a: StepKey(key), b: StepKey(other)},
		"the purpose is the only salt": {a: StepKey(key), b: DeriveKey(key, "step fingerprints"), same: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := bytes.Equal(tc.a, tc.b); got != tc.same {
				t.Errorf("equal = %v, want %v", got, tc.same)
			}
			if len(tc.a) != 32 {
				t.Errorf("key length %d, want 32", len(tc.a))
			}
		})
	}
	// Keys already in use (saved plans, journalled fingerprints) must not
	// change: HMAC-SHA-256(key, purpose).
	const want = "775c33ab9492f1efb71cce248b2012d0e7ded7756236c09ede47dbeca50d6abb"
	if got := hex.EncodeToString(StepKey(make([]byte, 32))); got != want {
		t.Errorf("StepKey of the zero key = %s, want %s", got, want)
	}
}
