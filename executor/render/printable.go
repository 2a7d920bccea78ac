package render

import (
	"fmt"
	"strings"
	"unicode"
)

// Printable returns s with every rune that is not printable escaped as
// \uXXXX, as hcl escapes identifiers in its diagnostics: control
// characters, and the bidirectional overrides and isolates (U+202A–U+202E,
// U+2066–U+2069) with which a description could make a reviewed plan read
// differently from what it says.
func Printable(s string) string {
	clean := true
	for _, r := range s {
		if !unicode.IsPrint(r) && r != ' ' {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if unicode.IsPrint(r) || r == ' ' {
			b.WriteRune(r)
			continue
		}
		if r > 0xFFFF {
			fmt.Fprintf(&b, `\U%08X`, r)
		} else {
			fmt.Fprintf(&b, `\u%04X`, r)
		}
	}
	return b.String()
}
