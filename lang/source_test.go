package lang

import (
	"fmt"
	"strings"
	"testing"
	"testing/fstest"
	"unicode/utf16"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
)

const okRunbook = "step \"rotate_action\" \"a\" {\n  product_id = \"microsoft.eventhub\"\n}\n"

func utf16LE(s string, bom bool) []byte {
	var b []byte
	if bom {
		b = append(b, 0xFF, 0xFE)
	}
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u), byte(u>>8))
	}
	return b
}

func utf16BE(s string) []byte {
	b := []byte{0xFE, 0xFF}
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u>>8), byte(u))
	}
	return b
}

func nested(depth int) string {
	return "locals {\n  x = " + strings.Repeat("[", depth) + strings.Repeat("]", depth) + "\n}\n"
}

// diagLines renders error diagnostics as "file:line: summary".
func diagLines(diags hcl.Diagnostics) []string {
	var out []string
	for _, d := range diags {
		if d.Severity != hcl.DiagError {
			continue
		}
		where := "-"
		if d.Subject != nil {
			where = fmt.Sprintf("%s:%d", d.Subject.Filename, d.Subject.Start.Line)
		}
		out = append(out, where+": "+d.Summary)
	}
	return out
}

// TestUnparsableFiles checks that files hclsyntax must not see (not UTF-8
// text, or nested deeper than the parser's stack allows) get one error
// each, with a location, and that empty runbooks are refused.
func TestUnparsableFiles(t *testing.T) {
	pfxLike := []byte{0x30, 0x82, 0x0A, 0x4B, 0x02, 0x01, 0x03, 0x30, 0x82, 0x0A, 0x11, 0x06, 0x09, 0x2A, 0x86, 0x48}
	tests := map[string]struct {
		files map[string][]byte
		vars  []VarArg
		want  []string
	}{
		"binary": {
			files: map[string][]byte{"main.runbook.hcl": append(pfxLike, strings.Repeat("\x00\xff", 5000)...)},
			want:  []string{"main.runbook.hcl:1: Not a text file"},
		},
		"NUL byte on line 3": {
			files: map[string][]byte{"main.runbook.hcl": []byte("locals {\n  a = 1\n  b = \"\x00\"\n}\n")},
			want:  []string{"main.runbook.hcl:3: Not a text file"},
		},
		"UTF-16LE with BOM": {
			files: map[string][]byte{"main.runbook.hcl": utf16LE(okRunbook, true)},
			want:  []string{"main.runbook.hcl:1: File is UTF-16, not UTF-8"},
		},
		"UTF-16LE without BOM": {
			files: map[string][]byte{"main.runbook.hcl": utf16LE(okRunbook, false)},
			want:  []string{"main.runbook.hcl:1: File is UTF-16, not UTF-8"},
		},
		"UTF-16BE": {
			files: map[string][]byte{"main.runbook.hcl": utf16BE(okRunbook)},
			want:  []string{"main.runbook.hcl:1: File is UTF-16, not UTF-8"},
		},
		"Latin-1 on line 2": {
			files: map[string][]byte{"main.runbook.hcl": []byte("runbook {\n  owner = \"Ren\xe9\"\n}\n" + okRunbook)},
			want:  []string{"main.runbook.hcl:2: Invalid character encoding"},
		},
		"UTF-8 with BOM": {
			files: map[string][]byte{"main.runbook.hcl": append([]byte{0xEF, 0xBB, 0xBF}, okRunbook...)},
		},
		"nesting at the limit": {
			files: map[string][]byte{"main.runbook.hcl": []byte(nested(MaxNesting - 1))},
		},
		"nesting past the limit": {
			files: map[string][]byte{"main.runbook.hcl": []byte(nested(100000))},
			want:  []string{"main.runbook.hcl:2: Nesting too deep"},
		},
		"nested templates": {
			files: map[string][]byte{"main.runbook.hcl": []byte("locals {\n  x = \"" + strings.Repeat("${\"", 60000) + strings.Repeat("\"}", 60000) + "\"\n}\n")},
			want:  []string{"main.runbook.hcl:2: Nesting too deep"},
		},
		"binary variable file": {
			files: map[string][]byte{"main.runbook.hcl": []byte("variable \"x\" {\n  default = 1\n}\n")},
			vars:  []VarArg{{File: "prod.vars.hcl", Src: pfxLike}},
			want:  []string{"prod.vars.hcl:1: Not a text file"},
		},
		"deep variable file": {
			files: map[string][]byte{"main.runbook.hcl": []byte("variable \"x\" {\n  default = []\n}\n")},
			vars:  []VarArg{{File: "prod.vars.hcl", Src: []byte("\nx = " + strings.Repeat("[", 100000) + strings.Repeat("]", 100000))}},
			want:  []string{"prod.vars.hcl:2: Nesting too deep"},
		},
		"deep -var": {
			files: map[string][]byte{"main.runbook.hcl": []byte("variable \"x\" {\n  type = list(any)\n}\n")},
			vars:  []VarArg{{Name: "x", Value: strings.Repeat("[", 100000) + strings.Repeat("]", 100000)}},
			want:  []string{"-: Invalid value for variable"},
		},
		"empty file": {
			files: map[string][]byte{"main.runbook.hcl": nil},
			want:  []string{"main.runbook.hcl:1: Empty runbook"},
		},
		"two files of comments": {
			files: map[string][]byte{"a.runbook.hcl": []byte("# TODO\n"), "b.runbook.hcl": []byte("// later\n")},
			want:  []string{"a.runbook.hcl:1: Empty runbook"},
		},
		"empty file beside a runbook": {
			files: map[string][]byte{"a.runbook.hcl": nil, "b.runbook.hcl": []byte(okRunbook)},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for f, b := range tc.files {
				fsys[f] = &fstest.MapFile{Data: b}
			}
			_, diags := Load(fsys, ".", Options{StepTypes: testStepTypes, Vars: tc.vars})
			if diff := cmp.Diff(tc.want, diagLines(diags)); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDuplicateBlockDetail checks that a second block of a kind allowed
// once is not explained as a name clash.
func TestDuplicateBlockDetail(t *testing.T) {
	src := "step \"rotate_action\" \"a\" {\n  product_id = \"p\"\n  retry {\n    attempts = 2\n  }\n  retry {\n    attempts = 3\n  }\n}\n"
	_, diags := loadSrc(t, src, Options{})
	var got []string
	for _, d := range diags {
		got = append(got, d.Summary+": "+d.Detail)
	}
	want := []string{"Duplicate retry block: Only one retry block is allowed here, and one was already declared at main.runbook.hcl:3,3-8. Merge them into one block."}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("diagnostics (-want +got):\n%s", diff)
	}
}

// TestRefusedValueIsNotMissing checks that a required variable whose given
// value is refused gets that one error, not also "No value for required
// variable".
func TestRefusedValueIsNotMissing(t *testing.T) {
	src := "variable \"names\" {\n  type = list(string)\n}\n"
	tests := map[string]struct {
		opts Options
		want []string
	}{
		"-var not HCL": {
			opts: Options{Vars: []VarArg{{Name: "names", Value: `["a",`}}},
			want: []string{"-: Invalid value for variable"},
		},
		"environment of the wrong type": {
			opts: Options{Environ: []string{`RUNBOOK_VAR_names={a = "x"}`}},
			want: []string{"main.runbook.hcl:1: Invalid value for variable"},
		},
		"variable file with a reference": {
			opts: Options{Vars: []VarArg{{File: "x.vars.hcl", Src: []byte("names = [var.other]\n")}}},
			want: []string{"x.vars.hcl:1: Variable values must be literals"},
		},
		"variable file of the wrong type": {
			opts: Options{Vars: []VarArg{{File: "x.vars.hcl", Src: []byte("\nnames = { a = \"x\" }\n")}}},
			want: []string{"x.vars.hcl:2: Invalid value for variable"},
		},
		"no value at all": {
			want: []string{"main.runbook.hcl:1: No value for required variable"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, diags := loadSrc(t, src, tc.opts)
			if diff := cmp.Diff(tc.want, diagLines(diags)); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCannotReadNamesThePath checks that a runbook that is not there is
// named as the user gave it, not by its path inside the fs.FS ("stat .").
func TestCannotReadNamesThePath(t *testing.T) {
	_, diags := Load(fstest.MapFS{"README.md": {}}, "eventhub", Options{NamePrefix: "runbooks"})
	var got []string
	for _, d := range diags {
		got = append(got, d.Summary+": "+d.Detail)
	}
	want := []string{"Cannot read runbook: Reading runbooks/eventhub failed: file does not exist. Give a directory of *.runbook.hcl files or one such file."}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("diagnostics (-want +got):\n%s", diff)
	}
}
