package render

import (
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/runbook-dev/runbook/internal/durfmt"
	"github.com/runbook-dev/runbook/marks"
	"github.com/zclconf/go-cty/cty"
)

const (
	sensitiveText = "(sensitive value)"
	unknownText   = "(known after apply)"
)

// valueString renders a value on one line when it is a primitive or a short
// collection; ok is false for objects and maps, which render as blocks.
func valueString(v cty.Value) (string, bool) {
	if v.HasMark(marks.Sensitive) {
		return sensitiveText, true
	}
	v, _ = v.Unmark()
	if !v.IsKnown() {
		return unknownText, true
	}
	if v.IsNull() {
		return "null", true
	}
	ty := v.Type()
	switch {
	case ty == cty.String:
		return strconv.Quote(v.AsString()), true
	case ty == cty.Number:
		return v.AsBigFloat().Text('f', -1), true
	case ty == cty.Bool:
		return strconv.FormatBool(v.True()), true
	case ty.IsListType() || ty.IsSetType() || ty.IsTupleType():
		var parts []string
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			s, ok := valueString(e)
			if !ok {
				return "", false
			}
			parts = append(parts, s)
		}
		return "[" + strings.Join(parts, ", ") + "]", true
	}
	return "", false
}

// attrs returns the attributes of an object or map value, sorted, with the
// value's marks carried onto each.
func attrs(v cty.Value) map[string]cty.Value {
	out := map[string]cty.Value{}
	if v == cty.NilVal {
		return out
	}
	sensitive := v.HasMark(marks.Sensitive)
	uv, _ := v.Unmark()
	if uv.IsNull() || !uv.IsKnown() {
		return out
	}
	ty := uv.Type()
	if !ty.IsObjectType() && !ty.IsMapType() {
		return out
	}
	for it := uv.ElementIterator(); it.Next(); {
		k, e := it.Element()
		if sensitive {
			e = e.Mark(marks.Sensitive)
		}
		out[k.AsString()] = e
	}
	return out
}

func isBlock(v cty.Value) bool {
	if v == cty.NilVal || v.HasMark(marks.Sensitive) {
		return false
	}
	uv, _ := v.Unmark()
	if !uv.IsKnown() || uv.IsNull() {
		return false
	}
	return uv.Type().IsObjectType() || uv.Type().IsMapType()
}

func isAbsent(v cty.Value) bool {
	if v == cty.NilVal {
		return true
	}
	if v.HasMark(marks.Sensitive) {
		return false
	}
	uv, _ := v.Unmark()
	return uv.IsKnown() && uv.IsNull()
}

func sortedKeys(ms ...map[string]cty.Value) []string {
	seen := map[string]bool{}
	var keys []string
	for _, m := range ms {
		for k := range m {
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	sort.Strings(keys)
	return keys
}

// Duration formats d compactly: "4h", "4h05m", "15m", "45s" (see
// durfmt.Format, which the engine shares).
func Duration(d time.Duration) string { return durfmt.Format(d) }
