package plan

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/runbook-dev/runbook/lang"
	"github.com/zclconf/go-cty/cty"
)

const canary = "canary-Secret-77"

func testPlan() *Plan {
	s := func(v cty.Value) cty.Value { return v.Mark(lang.Sensitive) }
	at := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	return &Plan{
		ID: "abc", ToolVersion: "test", CreatedAt: at, ExpiresAt: at.Add(DefaultTTLForTest),
		Runbook: Runbook{Dir: "rb", Files: []File{{Name: "rb/main.runbook.hcl", SHA256: "00"}}},
		Inputs: []Input{
			{Name: "pw", Sensitive: true, Fingerprint: "hmac-sha256:01"},
			{Name: "tags", Value: cty.MapVal(map[string]cty.Value{"a": cty.StringVal("b")})},
		},
		Changes: []*Change{{
			Address: "step.x", Type: "t", Name: "x", Action: Update, Summary: "do it",
			Before: cty.NullVal(cty.DynamicPseudoType),
			After: cty.ObjectVal(map[string]cty.Value{
				"pw":    s(cty.StringVal(canary)),
				"list":  cty.ListVal([]cty.Value{cty.StringVal("a"), s(cty.StringVal(canary))}),
				"later": cty.UnknownVal(cty.String),
				"n":     cty.NumberIntVal(3),
			}),
			DependsOn: []string{}, ExpectedDuration: 4 * time.Hour,
			Private: map[string]string{"package_id": "p"}, Fingerprints: map[string]string{"pfx": "f"}, Remote: "r",
		}},
		Checks:       []Check{{Address: "policy.p", Result: "passed"}},
		Window:       &WindowFit{Name: "w", Open: at, Close: at.Add(time.Hour), Fits: true, Spare: time.Minute},
		CriticalPath: 4 * time.Hour,
		Warnings:     []string{},
	}
}

const DefaultTTLForTest = 7 * 24 * time.Hour

var key = []byte("0123456789abcdef0123456789abcdef")

func TestRoundTrip(t *testing.T) {
	p := testPlan()
	data, err := Encode(p, key)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(data, []byte(canary)) {
		t.Fatal("the saved plan holds a sensitive value")
	}
	got, err := Decode(data, key)
	if err != nil {
		t.Fatal(err)
	}
	opt := cmp.Comparer(func(a, b cty.Value) bool { return a.RawEquals(b) })
	want := testPlan()
	// Sensitive values come back as marked nulls: the value is gone, the
	// mark stays.
	want.Changes[0].After = cty.ObjectVal(map[string]cty.Value{
		"pw":    cty.NullVal(cty.String).Mark(lang.Sensitive),
		"list":  cty.ListVal([]cty.Value{cty.StringVal("a"), cty.NullVal(cty.String).Mark(lang.Sensitive)}),
		"later": cty.UnknownVal(cty.String),
		"n":     cty.NumberIntVal(3),
	})
	if diff := cmp.Diff(want, got, opt); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

func TestDecodeRejects(t *testing.T) {
	good, err := Encode(testPlan(), key)
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		data []byte
		key  []byte
		want string
	}{
		"truncated":                     {good[:len(good)/2], key, "ends early"},
		"empty":                         {nil, key, "not a runbook plan"},
		"not json":                      {[]byte("PK\x03\x04"), key, "not a runbook plan"},
		"tampered":                      {bytes.Replace(good, []byte(`"do it"`), []byte(`"do more"`), 1), key, "changed after it was made"},
		"other key":                     {good, []byte("another key, another plan......."), "not made with this runbook's key"},
		"no mac":                        {bytes.Replace(good, []byte(`"mac"`), []byte(`"xmac"`), 1), key, "unknown field"},
		"wrong version":                 {bytes.Replace(good, []byte(`"format_version": "2.0"`), []byte(`"format_version": "3.0"`), 1), key, "format version 3.0 is not supported"},
		"json object of something else": {[]byte(`{"a": 1}`), key, "not a runbook plan"},
		"json array":                    {[]byte(`[{"format_version": "2.0"}]`), key, "holds a JSON array, not a plan object"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Decode(tc.data, tc.key)
			if err == nil {
				t.Fatal("Decode accepted a bad plan")
			}
			if !errors.Is(err, ErrBadPlan) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	good, err := Encode(testPlan(), key)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:100])
	f.Add([]byte(`{"format_version":"2.0","id":"x"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Decode(data, key)
		if err == nil && p == nil {
			t.Fatal("nil plan without error")
		}
	})
}
