package lang

import (
	"fmt"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// decodeString decodes a literal string attribute (no references) into dst.
func decodeString(attr *hcl.Attribute, dst *string) hcl.Diagnostics {
	if attr == nil {
		return nil
	}
	return gohcl.DecodeExpression(attr.Expr, nil, dst)
}

// decodeBool decodes a literal bool attribute (no references) into dst.
func decodeBool(attr *hcl.Attribute, dst *bool) hcl.Diagnostics {
	if attr == nil {
		return nil
	}
	return gohcl.DecodeExpression(attr.Expr, nil, dst)
}

// ParseDuration parses a duration as Go does ("8h30m", "90s"), also
// accepting a day suffix ("2d").
func ParseDuration(s string) (time.Duration, error) {
	if n := len(s); n > 1 && s[n-1] == 'd' {
		var days int
		if _, err := fmt.Sscanf(s, "%dd", &days); err == nil && fmt.Sprintf("%dd", days) == s {
			return time.Duration(days) * 24 * time.Hour, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration; write it like \"4h\", \"8h30m\" or \"90s\"", s)
	}
	return d, nil
}

// evalDuration evaluates an attribute holding a duration string; ok is false
// when the attribute is absent or the value unknown.
func evalDuration(ctx *hcl.EvalContext, attr *hcl.Attribute) (time.Duration, bool, hcl.Diagnostics) {
	if attr == nil {
		return 0, false, nil
	}
	s, known, diags := evalString(ctx, attr.Expr)
	if diags.HasErrors() || !known {
		return 0, false, diags
	}
	d, err := ParseDuration(s)
	if err == nil && d <= 0 {
		err = fmt.Errorf("%q is not a positive duration", s)
	}
	if err != nil {
		return 0, false, append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid duration",
			Detail:   fmt.Sprintf("%s.", err),
			Subject:  attr.Expr.Range().Ptr(),
		})
	}
	return d, true, diags
}

// evalString evaluates expr as a string; known is false for an unknown
// value. A sensitive string is returned unmarked: callers decide.
func evalString(ctx *hcl.EvalContext, expr hcl.Expression) (s string, known bool, diags hcl.Diagnostics) {
	val, diags := expr.Value(ctx)
	if diags.HasErrors() {
		return "", false, diags
	}
	val, _ = val.Unmark()
	if !val.IsKnown() {
		return "", false, diags
	}
	sv, err := convert.Convert(val, cty.String)
	if err != nil || sv.IsNull() {
		msg := "a string is required"
		if err != nil {
			msg = err.Error()
		}
		return "", false, append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Incorrect attribute value type",
			Detail:   fmt.Sprintf("Inappropriate value: %s.", msg),
			Subject:  expr.Range().Ptr(),
		})
	}
	return sv.AsString(), true, diags
}
