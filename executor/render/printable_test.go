package render

import "testing"

func TestPrintable(t *testing.T) {
	tests := map[string]struct{ in, want string }{
		"plain":         {"Rotate the secrets", "Rotate the secrets"},
		"unicode":       {"Zertifikate für Ö", "Zertifikate für Ö"},
		"rlo":           {"Rotate \u202eevil", `Rotate \u202Eevil`},
		"isolate":       {"a\u2066b\u2069", `a\u2066b\u2069`},
		"newline":       {"a\nb", `a\u000Ab`},
		"zero width":    {"a\u200bb", `a\u200Bb`},
		"escape (ansi)": {"\x1b[31mred", `\u001B[31mred`},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			if got := Printable(tt.in); got != tt.want {
				t.Errorf("Printable(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
