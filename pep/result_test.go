package pep

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/runbook-dev/runbook/pep/psrp"
)

func TestPlain(t *testing.T) {
	cyclic := &psrp.Object{ToString: "me"}
	cyclic.Members = []psrp.Property{{Name: "Self", Value: cyclic}}
	shared := &psrp.Object{Members: []psrp.Property{{Name: "x", Value: int32(1)}}}
	when := time.Date(2031, 5, 4, 12, 0, 0, 0, time.UTC)
	tests := map[string]struct {
		in   any
		want any
	}{
		"string":  {"s", "s"},
		"nil":     {nil, nil},
		"number":  {int32(4), int32(4)},
		"guid":    {psrp.GUID{0xAB}, "ab000000-0000-0000-0000-000000000000"},
		"version": {psrp.Version("5.1"), "5.1"},
		"secret":  {psrp.NewSecureString(canary), "System.Security.SecureString"},
		"time":    {when, when},
		"enum":    {psrp.Enum("T", "Completed", 4), "Completed"},
		"list":    {&psrp.Object{ListTag: "LST", List: []any{"a", psrp.Version("1")}}, []any{"a", "1"}},
		"dictionary": {
			&psrp.Object{Dict: []psrp.DictEntry{{Key: "k", Value: int32(1)}, {Key: int32(2), Value: "v"}}},
			map[string]any{"k": int32(1), "2": "v"},
		},
		"extended wins over adapted": {
			&psrp.Object{Props: []psrp.Property{{Name: "A", Value: "adapted"}, {Name: "B", Value: "b"}}, Members: []psrp.Property{{Name: "A", Value: "extended"}}},
			map[string]any{"A": "extended", "B": "b"},
		},
		"cycle ends in ToString": {cyclic, map[string]any{"Self": "me"}},
		"shared object twice": {
			&psrp.Object{Members: []psrp.Property{{Name: "a", Value: shared}, {Name: "b", Value: shared}}},
			map[string]any{"a": map[string]any{"x": int32(1)}, "b": map[string]any{"x": int32(1)}},
		},
		"bare ToString": {&psrp.Object{ToString: "text"}, "text"},
	}
	for name, tc := range tests {
		if diff := cmp.Diff(tc.want, Plain(tc.in)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
}

func TestCredentialDoesNotPrint(t *testing.T) {
	c := Credential{Username: `CONTOSO\share`, Password: canary}
	out := fmt.Sprintf("%v %+v %#v %s %q", c, c, c, c, c) + fmt.Sprint(Param{Name: "Credential", Value: c, Secret: true})
	call := Call{Cmdlet: "Set-BmcCredential", Params: []Param{{Name: "BmcPassword", Value: canary, Secret: true}, {Name: "BmcUser", Value: "root"}}}
	printed := fmt.Sprintf("%v|%+v|%#v|%s", call, call, call, call.Params)
	out += printed
	if !strings.Contains(printed, "-BmcUser root") || !strings.Contains(printed, "-BmcPassword <secret>") {
		t.Errorf("printed call %s", printed)
	}
	assertNoSecret(t, canary, "a printed credential", out)
	if !strings.Contains(out, `CONTOSO\share`) {
		t.Errorf("the user name is useful in logs and not secret: %s", out)
	}
}
