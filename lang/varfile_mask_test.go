package lang

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
)

func TestMaskValues(t *testing.T) {
	tests := map[string]struct{ src, want string }{
		"string":       {"pw = \"Sec ret\"\n", "pw = \"***\"\n"},
		"empty string": {"pw = \"\"\n", "pw = \"***\"\n"},
		"junk":         {"pw = \"Sec\" junk\n", "pw = \"***\" ***\n"},
		"escape":       {"pw = \"Sec\\q\"\n", "pw = \"***\"\n"},
		"template":     {"pw = \"a${b}c\"\n", "pw = \"***\"\n"},
		// An unterminated string runs on into the next line.
		"unterminated":               {"pw = \"Sec\nb = 1\n", "pw = \"***\n***\n"},
		"number":                     {"n = -12.5e3\n", "n = ***\n"},
		"bool":                       {"b = true\n", "b = ***\n"},
		"null":                       {"b = null\n", "b = ***\n"},
		"list":                       {"pw = [\"Sec\", 12, \"\"]\n", "pw = [\"***\", ***, \"***\"]\n"},
		"object":                     {"b = { user = \"Sec\", n: 1 }\n", "b = { *** = \"***\", ***: *** }\n"},
		"reference":                  {"pw = lower(Sec)\n", "pw = ***(***)\n"},
		"bare":                       {"pw = Sec\n", "pw = ***\n"},
		"comment":                    {"# Sec\npw = 1 // two\n/* Sec */\n", "***\npw = *** ***\n***\n"},
		"heredoc":                    {"pw = <<EOT\nSec\n\n  ret\nEOT\n", "pw = ***\n***\n***\n***\n***\n"},
		"heredoc CRLF":               {"pw = <<-EOT\r\n  a\r\n\r\n  EOT\r\n", "pw = ***\r\n***\r\n***\r\n***\r\n"},
		"two attributes":             {"a = \"x\"\nbb = \"yy\"\n", "a = \"***\"\nbb = \"***\"\n"},
		"CRLF":                       {"a = \"x\"\r\nb = 2\r\n", "a = \"***\"\r\nb = ***\r\n"},
		"carriage return in a value": {"pw = Se\rc\n", "pw = ***\n"},
		"block":                      {"pw \"Sec\" {\n  a = 1\n}\n", "pw \"***\" {\n  *** = ***\n}\n"},
		// A bare word at the start of a line is not an attribute name unless
		// "=" follows it.
		"continued line": {"pw = \"a\" +\nSec\n", "pw = \"***\" ***\n***\n"},
		"tabs":           {"pw\t=\t\"a\tb\"\n", "pw\t=\t\"***\"\n"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got := string(maskValues([]byte(tt.src)).display)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("maskValues(%q) (-want +got):\n%s", tt.src, diff)
			}
		})
	}
}

// TestMaskHidesLength checks that the masked copy is the same whatever the
// length of the values in it.
func TestMaskHidesLength(t *testing.T) {
	shapes := map[string]string{
		"quoted":       "pw = \"%s\"\n",
		"bare":         "pw = %s\n",
		"junk":         "pw = \"%s\" %[1]s\n",
		"list":         "pw = [\"%s\", %[1]s]\n",
		"object":       "b = { %s = \"%[1]s\" }\n",
		"heredoc":      "pw = <<EOT\n%s\n%[1]s %[1]s\nEOT\n",
		"comment":      "# %s\npw = 1 # %[1]s\n",
		"escape":       "pw = \"%s\\q%[1]s\"\n",
		"unterminated": "pw = \"%s\n",
		"template":     "pw = \"%s${%[1]s}\"\n",
	}
	for name, shape := range shapes {
		t.Run(name, func(t *testing.T) {
			short := maskValues(fmt.Appendf(nil, shape, "x")).display
			long := maskValues(fmt.Appendf(nil, shape, strings.Repeat("y", 57))).display
			if diff := cmp.Diff(string(short), string(long)); diff != "" {
				t.Errorf("the masked copy depends on the values' length (-short +long):\n%s", diff)
			}
		})
	}
}

// TestMaskedRange checks how ranges of the real file move onto the masked
// copy: tokens that stay keep their text, a range in or around a value
// covers its whole marker.
func TestMaskedRange(t *testing.T) {
	const src = "pw = \"Secret\" # c\r\ne = \"\"\nn = 12\n"
	tests := map[string]struct {
		start, end int // in src
		want       string
		line       int
	}{
		"name":             {0, 2, "pw", 1},
		"whole value":      {5, 13, `"***"`, 1},
		"inside the value": {8, 10, "***", 1},
		"empty in value":   {8, 8, "***", 1},
		"value to end":     {6, 12, "***", 1},
		"after a value":    {14, 17, "***", 1},
		"line 2 name":      {19, 20, "e", 2},
		"empty string":     {23, 25, `"***"`, 2},
		"empty at empty":   {24, 24, "***", 2},
		"closing quote":    {24, 25, `"`, 2},
		"number":           {30, 32, "***", 3},
		"end of file":      {33, 33, "", 4},
	}
	m := maskValues([]byte(src))
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			r := m.displayRange(hcl.Range{Filename: "x", Start: hcl.Pos{Byte: tt.start}, End: hcl.Pos{Byte: tt.end}})
			if got := string(r.SliceBytes(m.display)); got != tt.want {
				t.Errorf("range [%d,%d) %q shows %q, want %q", tt.start, tt.end, src[tt.start:tt.end], got, tt.want)
			}
			if r.Start.Line != tt.line {
				t.Errorf("line %d, want %d", r.Start.Line, tt.line)
			}
			lineStart := strings.LastIndexByte(string(m.display[:r.Start.Byte]), '\n') + 1
			if want := len(m.display[lineStart:r.Start.Byte]) + 1; r.Start.Column != want {
				t.Errorf("column %d, want %d", r.Start.Column, want)
			}
		})
	}
}

// TestMaskedDiagnostics writes the diagnostics about variable files as
// the CLI does, with colour so that the highlighted range shows as [[…]]:
// each names the real file and line and highlights the right token of the
// masked line, and none shows a value.
func TestMaskedDiagnostics(t *testing.T) {
	const runbook = `variable "pfx_password" {
  type      = string
  sensitive = true
  default   = "x"
  validation {
    condition     = length(var.pfx_password) <= 8
    error_message = "A password of at most 8 characters."
  }
}
variable "days" {
  type    = number
  default = 1
}
variable "names" {
  type    = list(string)
  default = []
}
variable "bmc" {
  type    = object({ user = string })
  default = { user = "root" }
}
`
	const secret = "SynCanary4K5l"
	tests := map[string]struct {
		src  string
		want []string
	}{
		"junk after a value": {
			src:  "pfx_password = \"SynCanary4K5l\" junk\n",
			want: []string{"Error: Missing newline after argument | on x.vars.hcl line 1: | 1: pfx_password = \"***\" [[***]]"},
		},
		"syntax error mid-value": {
			src:  "days = 2\npfx_password = \"SynCanary4K5l\\qSynCanary4K5l\"\n",
			want: []string{"Error: Invalid escape sequence | on x.vars.hcl line 2: | 2: pfx_password = \"[[***]]\""},
		},
		"unterminated string": {
			src: "# a comment\npfx_password = \"SynCanary4K5l\n",
			// Both diagnostics are about the line break, which is not
			// highlighted, masked or not.
			want: []string{
				"Error: Invalid multi-line string | on x.vars.hcl line 2: | 2: pfx_password = \"***",
				"Error: Unterminated template string | on x.vars.hcl line 2: | 2: pfx_password = \"***",
			},
		},
		"wrong type, third attribute": {
			src: "days = 3\r\npfx_password = \"SynCanary4K5l\"\r\nnames = [\"SynCanary4K5l\", {a = 1}]\r\n",
			want: []string{
				"Error: Invalid value for variable | on x.vars.hcl line 3: | 3: names = [[[\"***\", {*** = ***}]]]",
				"Error: Invalid value for variable \"pfx_password\" | on x.vars.hcl line 2: | 2: pfx_password = [[\"***\"]]",
			},
		},
		"object": {
			src:  "bmc = { user = [\"SynCanary4K5l\"] }\n",
			want: []string{"Error: Invalid value for variable | on x.vars.hcl line 1: | 1: bmc = [[{ *** = [\"***\"] }]]"},
		},
		"number": {
			src:  "days = \"SynCanary4K5l\"\n",
			want: []string{"Error: Invalid value for variable | on x.vars.hcl line 1: | 1: days = [[\"***\"]]"},
		},
		"bool for a list": {
			src:  "names = true\n",
			want: []string{"Error: Invalid value for variable | on x.vars.hcl line 1: | 1: names = [[***]]"},
		},
		"function call": {
			src:  "pfx_password = lower(\"SynCanary4K5l\")\n",
			want: []string{"Error: Variable values must be literals | on x.vars.hcl line 1: | 1: pfx_password = [[***(\"***\")]]"},
		},
		"heredoc failing validation": {
			src:  "days = 1\npfx_password = <<EOT\nSynCanary4K5l\n\nEOT\n",
			want: []string{"Error: Invalid value for variable \"pfx_password\" | on x.vars.hcl line 2: | 2: pfx_password = [[***]] | 3: [[***]] | 4: [[***]] | 5: [[***]]"},
		},
		"undeclared": {
			src:  "pfx_passwd = \"SynCanary4K5l\"\n",
			want: []string{"Warning: Value for undeclared variable | on x.vars.hcl line 1: | 1: [[pfx_passwd]] = \"***\""},
		},
		"twice": {
			src:  "pfx_password = \"a\"\npfx_password = \"SynCanary4K5l\"\n",
			want: []string{"Error: Attribute redefined | on x.vars.hcl line 2: | 2: [[pfx_password]] = \"***\""},
		},
		"block": {
			src:  "pfx_password \"SynCanary4K5l\" {\n}\n",
			want: []string{"Error: Unexpected \"pfx_password\" block | on x.vars.hcl line 1: | 1: [[pfx_password]] \"***\" {"},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			rb, diags := loadSrc(t, runbook, Options{Vars: []VarArg{{File: "x.vars.hcl", Src: []byte(tt.src)}}})
			var b strings.Builder
			if err := NewDiagnosticTextWriter(&b, rb.Files, 0, true).WriteDiagnostics(diags); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			if strings.Contains(out, secret) || strings.Contains(out, "\\q") {
				t.Errorf("the diagnostics show a value:\n%s", out)
			}
			if diff := cmp.Diff(tt.want, diagSnippets(out)); diff != "" {
				t.Errorf("diagnostics (-want +got):\n%s\n%s", diff, out)
			}
			// The diagnostics themselves keep the real file's ranges.
			for _, d := range diags {
				if d.Subject == nil || d.Subject.Filename != "x.vars.hcl" {
					continue
				}
				lines := strings.Split(tt.src, "\n")
				if d.Subject.Start.Line > len(lines) || d.Subject.End.Byte > len(tt.src) {
					t.Errorf("%s: subject %s is not a range of the real file", d.Summary, d.Subject)
				}
			}
		})
	}
}

var (
	colorCode = regexp.MustCompile(`\x1b\[(31|33)m|\x1b\[0m(: )`)
	snippetOn = regexp.MustCompile(`^  on .*:$|^ +\d+: `)
)

// diagSnippets reduces the text of diagnostics to one line each: the
// heading, the "on" line and the snippet, with the highlighted range shown
// as [[…]].
func diagSnippets(out string) []string {
	out = colorCode.ReplaceAllString(out, "$2")
	out = strings.NewReplacer("\x1b[1;4m", "[[", "\x1b[0m", "]]").Replace(out)
	var got []string
	for _, block := range strings.Split(out, "\n\n") {
		lines := strings.Split(block, "\n")
		switch {
		case strings.HasPrefix(lines[0], "Error: ") || strings.HasPrefix(lines[0], "Warning: "):
			got = append(got, lines[0])
		case len(got) > 0 && snippetOn.MatchString(lines[0]):
			for _, l := range lines {
				got[len(got)-1] += " | " + strings.TrimSpace(l)
			}
		}
	}
	return got
}

// FuzzMaskValues checks, for any file, that every offset of the real file
// moves onto the same line of the masked copy, so that a diagnostic's line
// and its snippet agree.
func FuzzMaskValues(f *testing.F) {
	for _, s := range []string{"pw = \"Sec\" junk\r\n", "pw = <<EOT\nSec\n\nEOT\n", "a = [\"\", {b = 1}]\n# c\n", "pw = \"a\rb\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		if CheckSource(src, "x").HasErrors() {
			return
		}
		m := maskValues(src)
		line := 1
		for p := 0; p <= len(src); p++ {
			if s, e := m.pos(m.displayStart(p)).Line, m.pos(m.displayEnd(p)).Line; s != line || e != line {
				t.Fatalf("offset %d of line %d moves to lines %d and %d of %q", p, line, s, e, m.display)
			}
			if p < len(src) && src[p] == '\n' {
				line++
			}
		}
	})
}
