package lang

// Secret holds a sensitive string taken out of a cty value so that Go code
// can use it (a client secret, a PEP password). It prints as
// "(sensitive value)" through fmt, %v, %s, %q and %#v, and marshals to that
// text too, so logging or serialising one by mistake leaks nothing.
type Secret struct{ v string }

// NewSecret wraps s.
func NewSecret(s string) Secret { return Secret{s} }

// Reveal returns the secret itself. Call it only where the value is handed
// to the system that needs it.
func (s Secret) Reveal() string { return s.v }

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s.v == "" }

// String returns "(sensitive value)".
func (s Secret) String() string { return "(sensitive value)" }

// GoString returns "(sensitive value)".
func (s Secret) GoString() string { return "(sensitive value)" }

// MarshalText returns "(sensitive value)".
func (s Secret) MarshalText() ([]byte, error) { return []byte("(sensitive value)"), nil }
