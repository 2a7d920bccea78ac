package lang

import (
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"
)

// TestResolvedValues checks that a value given already resolved (a saved
// plan's input) is converted and validated like any other, with its source,
// and never parsed as text.
func TestResolvedValues(t *testing.T) {
	const src = `
variable "names" {
  type = list(string)
  validation {
    condition     = length(var.names) > 0
    error_message = "Give at least one name."
  }
}
variable "count" {
  type    = number
  default = 1
}`
	list := cty.TupleVal([]cty.Value{cty.StringVal(`a "quoted" ${name}`), cty.StringVal("b")})
	tests := map[string]struct {
		vars      []VarArg
		want      map[string]cty.Value
		wantDiags []string
	}{
		"converted, not parsed": {
			vars: []VarArg{{Name: "names", Resolved: list, Source: "(plan p1)"}},
			want: map[string]cty.Value{
				"names": cty.ListVal([]cty.Value{cty.StringVal(`a "quoted" ${name}`), cty.StringVal("b")}),
				"count": cty.NumberIntVal(1),
			},
		},
		"wrong type": {
			vars:      []VarArg{{Name: "names", Resolved: list, Source: "(plan p1)"}, {Name: "count", Resolved: cty.StringVal("many"), Source: "(plan p1)"}},
			wantDiags: []string{`The value of variable "count" from (plan p1) does not fit its type number`},
		},
		"validated": {
			vars:      []VarArg{{Name: "names", Resolved: cty.ListValEmpty(cty.String), Source: "(plan p1)"}},
			wantDiags: []string{"Give at least one name."},
		},
		"undeclared is a warning": {
			vars:      []VarArg{{Name: "names", Resolved: list, Source: "(plan p1)"}, {Name: "gone", Resolved: cty.True, Source: "(plan p1)"}},
			wantDiags: []string{`(plan p1) sets "gone", but the runbook declares no such variable`},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			rb, diags := loadSrc(t, src, Options{Vars: tc.vars})
			text := diags.Error()
			for _, w := range tc.wantDiags {
				if !strings.Contains(text, w) {
					t.Errorf("diagnostics %q lack %q", text, w)
				}
			}
			if len(tc.wantDiags) == 0 && len(diags) > 0 {
				t.Fatalf("diagnostics: %s", text)
			}
			for n, want := range tc.want {
				if got := rb.VariableValue(n); !got.RawEquals(want) {
					t.Errorf("var.%s = %#v, want %#v", n, got, want)
				}
			}
			if tc.want != nil && rb.Variables["names"].Source != "(plan p1)" {
				t.Errorf("source = %q, want (plan p1)", rb.Variables["names"].Source)
			}
		})
	}
}
