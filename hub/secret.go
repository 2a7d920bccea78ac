package hub

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
)

// redacted replaces secret material wherever it would otherwise be printed.
const redacted = "(sensitive)"

// Secret is a string that never prints itself: every fmt verb, String,
// GoString and JSON encoding yield "(sensitive)". Only Reveal returns the
// value, and the package calls it only to build a request body. Holding
// passwords in a Secret keeps them out of panics, %+v dumps and logs.
type Secret string

// Reveal returns the secret value.
func (s Secret) Reveal() string { return string(s) }

// String returns "(sensitive)".
func (Secret) String() string { return redacted }

// GoString returns "(sensitive)".
func (Secret) GoString() string { return redacted }

// Format writes "(sensitive)" whatever the verb and flags.
func (Secret) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, redacted) }

// MarshalJSON encodes the secret as the string "(sensitive)".
func (Secret) MarshalJSON() ([]byte, error) { return json.Marshal(redacted) }

// minRedact is the shortest secret a redactor looks for.
const minRedact = 4

// redactor removes known secrets from text bound for an error or a log. It
// matches the raw value and the forms a server might echo it in: JSON-escaped
// and URL-encoded.
type redactor []string

// with returns a redactor that also removes the given secrets.
func (r redactor) with(secrets ...string) redactor {
	out := append(redactor(nil), r...)
	for _, s := range secrets {
		if len(s) < minRedact {
			// Too short to tell from ordinary text: replacing it would
			// mangle host names and messages, and a real client secret or
			// PFX password is never this short.
			continue
		}
		out = append(out, s)
		if b, err := json.Marshal(s); err == nil {
			if esc := string(b[1 : len(b)-1]); esc != s {
				out = append(out, esc)
			}
		}
		if q := url.QueryEscape(s); q != s {
			out = append(out, q)
		}
	}
	// Longest first: a secret that contains another (a mistyped password
	// that starts with the configured one) must be replaced whole.
	slices.SortStableFunc(out, func(a, b string) int { return len(b) - len(a) })
	return out
}

// apply returns s with every known secret replaced.
func (r redactor) apply(s string) string {
	for _, secret := range r {
		if strings.Contains(s, secret) {
			s = strings.ReplaceAll(s, secret, redacted)
		}
	}
	return s
}

// contains reports whether s holds any known secret.
func (r redactor) contains(s string) bool {
	for _, secret := range r {
		if strings.Contains(s, secret) {
			return true
		}
	}
	return false
}

// redactError returns err unchanged unless its text holds a secret; then it
// returns an error with the redacted text. The wrapped chain is dropped in
// that case: losing errors.As is better than leaking.
func (r redactor) redactError(err error) error {
	if err == nil || !r.contains(err.Error()) {
		return err
	}
	return redactedError(r.apply(err.Error()))
}

// redactedError is an error whose text has had secrets removed.
type redactedError string

// Error returns the redacted text.
func (e redactedError) Error() string { return string(e) }
