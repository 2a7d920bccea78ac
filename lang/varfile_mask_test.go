package lang

import "testing"

func TestMaskValues(t *testing.T) {
	tests := map[string]struct{ src, want string }{
		"string":    {"pw = \"Sec ret\"\n", "pw = \"*******\"\n"},
		"junk":      {"pw = \"Sec\" junk\n", "pw = \"***\" ****\n"},
		"list":      {"pw = [\"Sec\", 12]\n", "pw = [\"***\", **]\n"},
		"object":    {"b = { user = \"Sec\" }\n", "b = { **** = \"***\" }\n"},
		"reference": {"pw = lower(Sec)\n", "pw = *****(***)\n"},
		"comment":   {"# Sec\npw = 1\n", "*****\npw = *\n"},
		"heredoc":   {"pw = <<EOT\nSec\nEOT\n", "pw = *****\n***\n***\n"},
		"two lines": {"a = \"x\"\nb = \"y\"\n", "a = \"*\"\nb = \"*\"\n"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got := string(maskValues([]byte(tt.src)))
			if got != tt.want {
				t.Errorf("maskValues(%q) = %q, want %q", tt.src, got, tt.want)
			}
		})
	}
}
