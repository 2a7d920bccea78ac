package lang

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// EnvVarPrefix prefixes environment variables that set runbook variables:
// RUNBOOK_VAR_name=value.
const EnvVarPrefix = "RUNBOOK_VAR_"

// Variable is a variable block: an input of the runbook.
type Variable struct {
	Name        string
	Description string
	// Type is the type constraint; cty.DynamicPseudoType when none is given.
	Type     cty.Type
	defaults *typeexpr.Defaults
	// Default is the default value, or cty.NilVal when the variable is
	// required.
	Default     cty.Value
	Sensitive   bool
	Nullable    bool
	Validations []*Validation
	DeclRange   hcl.Range
	// invalid is set when the block itself is broken, so that no further
	// errors are reported about its value.
	invalid bool
	// Source says where the value came from: "default", "environment",
	// "-var", a variable file name, or "" when it has none.
	Source string
}

// Validation is a validation block of a variable.
type Validation struct {
	Condition    hcl.Expression
	ErrorMessage hcl.Expression
	DeclRange    hcl.Range
}

var variableSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "type"}, {Name: "default"}, {Name: "description"}, {Name: "sensitive"}, {Name: "nullable"},
	},
	Blocks: []hcl.BlockHeaderSchema{{Type: "validation"}},
}

var conditionSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "condition", Required: true},
		{Name: "error_message", Required: true},
	},
}

func decodeVariable(block *hcl.Block) (*Variable, hcl.Diagnostics) {
	v := &Variable{
		Name:      block.Labels[0],
		Type:      cty.DynamicPseudoType,
		Nullable:  true,
		DeclRange: block.DefRange,
	}
	content, diags := block.Body.Content(variableSchema)
	defer func() { v.invalid = diags.HasErrors() }()
	if attr, ok := content.Attributes["type"]; ok {
		ty, defaults, tdiags := typeexpr.TypeConstraintWithDefaults(attr.Expr)
		diags = append(diags, tdiags...)
		if !tdiags.HasErrors() {
			v.Type, v.defaults = ty, defaults
		}
	}
	diags = append(diags, decodeString(content.Attributes["description"], &v.Description)...)
	diags = append(diags, decodeBool(content.Attributes["sensitive"], &v.Sensitive)...)
	diags = append(diags, decodeBool(content.Attributes["nullable"], &v.Nullable)...)
	if attr, ok := content.Attributes["default"]; ok {
		val, ddiags := attr.Expr.Value(nil)
		diags = append(diags, ddiags...)
		if !ddiags.HasErrors() {
			cv, err := v.convert(val)
			if err != nil {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Invalid default value for variable",
					Detail:   fmt.Sprintf("The default value of variable %q does not fit its type: %s.", v.Name, err),
					Subject:  attr.Expr.Range().Ptr(),
				})
			} else {
				v.Default = cv
			}
		}
	}
	for _, b := range content.Blocks {
		bc, bdiags := b.Body.Content(conditionSchema)
		diags = append(diags, bdiags...)
		if bdiags.HasErrors() {
			continue
		}
		v.Validations = append(v.Validations, &Validation{
			Condition:    bc.Attributes["condition"].Expr,
			ErrorMessage: bc.Attributes["error_message"].Expr,
			DeclRange:    b.DefRange,
		})
	}
	return v, diags
}

// convert converts val to the variable's type, applying the type's optional
// attribute defaults.
func (v *Variable) convert(val cty.Value) (cty.Value, error) {
	if v.defaults != nil {
		val = v.defaults.Apply(val)
	}
	return convert.Convert(val, v.Type)
}

// parseRaw turns the text of a -var or RUNBOOK_VAR_ value into a value: the
// text itself for string variables, an HCL expression otherwise.
func (v *Variable) parseRaw(raw, origin string) (cty.Value, hcl.Diagnostics) {
	if v.Type == cty.String || v.Type == cty.DynamicPseudoType {
		return cty.StringVal(raw), nil
	}
	bad := func(why string) (cty.Value, hcl.Diagnostics) {
		return cty.DynamicVal, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid value for variable",
			Detail: fmt.Sprintf("The value of variable %q from %s is not a valid %s: %s. Values of variables that are not strings are written in HCL, e.g. 30, true, [\"a\"] or {key = \"value\"}.",
				v.Name, origin, typeexpr.TypeString(v.Type), why),
		}}
	}
	if diags := checkExpressionSource([]byte(raw), origin); diags.HasErrors() {
		return bad(strings.ToLower(diags[0].Summary))
	}
	expr, diags := hclsyntax.ParseExpression([]byte(raw), origin, hcl.InitialPos)
	if diags.HasErrors() {
		return bad(diags[0].Summary)
	}
	val, diags := expr.Value(nil)
	if diags.HasErrors() {
		return bad("it refers to something; only literal values are allowed")
	}
	return val, nil
}

// setVariables resolves every variable's value in Terraform's precedence
// order (lowest first): default, RUNBOOK_VAR_name, then -var-file and -var
// in the order given. It then checks nullability, required values and the
// validation blocks.
func (rb *Runbook) setVariables(opts Options) hcl.Diagnostics {
	var diags hcl.Diagnostics
	vals := map[string]cty.Value{}
	srcRange := map[string]*hcl.Range{}
	// given holds the variables that were given a value, valid or not: one
	// whose value was refused is not also reported as having none.
	given := map[string]bool{}

	set := func(name string, val cty.Value, source string, rng *hcl.Range) {
		given[name] = true
		v := rb.Variables[name]
		cv, err := v.convert(val)
		if err != nil {
			d := &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid value for variable",
				Detail:   fmt.Sprintf("The value of variable %q from %s does not fit its type %s: %s.", name, source, typeexpr.TypeString(v.Type), err),
				Subject:  rng,
			}
			if rng == nil {
				d.Subject = v.DeclRange.Ptr()
			}
			diags = append(diags, d)
			return
		}
		vals[name] = cv
		srcRange[name] = rng
		v.Source = source
	}

	for _, name := range sortedKeys(rb.Variables) {
		if v := rb.Variables[name]; v.Default != cty.NilVal {
			vals[name] = v.Default
			v.Source = "default"
		}
	}
	env := envMap(opts.Environ)
	envNames := make([]string, 0)
	for k := range env {
		if strings.HasPrefix(k, EnvVarPrefix) {
			envNames = append(envNames, k)
		}
	}
	sort.Strings(envNames)
	for _, k := range envNames {
		name := strings.TrimPrefix(k, EnvVarPrefix)
		v, ok := rb.Variables[name]
		if !ok {
			continue // like Terraform: other tools' variables may share the environment
		}
		val, vdiags := v.parseRaw(env[k], "environment variable "+k)
		diags = append(diags, vdiags...)
		given[name] = true
		if !vdiags.HasErrors() {
			set(name, val, "environment variable "+k, nil)
		}
	}
	for _, arg := range opts.Vars {
		if arg.File != "" {
			diags = append(diags, rb.setFromFile(arg, set, given)...)
			continue
		}
		if arg.Resolved != cty.NilVal {
			diags = append(diags, rb.setResolved(arg, set)...)
			continue
		}
		v, ok := rb.Variables[arg.Name]
		if !ok {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Value for undeclared variable",
				Detail:   fmt.Sprintf("A -var argument sets %q, but the runbook declares no such variable.%s", arg.Name, didYouMean(arg.Name, sortedKeys(rb.Variables))),
			})
			continue
		}
		source := arg.Source
		if source == "" {
			source = "-var"
		}
		val, vdiags := v.parseRaw(arg.Value, source+" "+arg.Name)
		diags = append(diags, vdiags...)
		given[arg.Name] = true
		if !vdiags.HasErrors() {
			set(arg.Name, val, source, nil)
		}
	}

	for _, name := range sortedKeys(rb.Variables) {
		v := rb.Variables[name]
		val, ok := vals[name]
		switch {
		case !ok && (opts.Validate || v.invalid || given[name]):
			val = cty.UnknownVal(v.Type)
		case !ok:
			detail := fmt.Sprintf("Variable %q has no default, so it needs a value: set it with -var %s=..., in a -var-file, or with the environment variable %s%s; on a terminal, runbook asks for it.",
				name, name, EnvVarPrefix, name)
			if v.Sensitive {
				// Never suggest -var for a secret: the process list shows
				// every argument to every user of the machine.
				detail = fmt.Sprintf("Variable %q is sensitive and has no default, so it needs a value: set the environment variable %s%s, or give it in a -var-file kept out of version control; on a terminal, runbook asks for it with the input hidden.",
					name, EnvVarPrefix, name)
			}
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "No value for required variable",
				Detail:   detail,
				Subject:  v.DeclRange.Ptr(),
			})
			val = cty.UnknownVal(v.Type)
		case val.IsNull() && !v.Nullable:
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Null value for non-nullable variable",
				Detail:   fmt.Sprintf("Variable %q is declared nullable = false, but its value from %s is null.", name, v.Source),
				Subject:  orRange(srcRange[name], v.DeclRange),
			})
		}
		if v.Sensitive {
			val = val.Mark(Sensitive)
		}
		vals[name] = val
	}
	rb.varVals = vals

	// Validations see every variable (as Terraform 1.9+ allows).
	ctx := rb.evalContext(nil)
	for _, name := range sortedKeys(rb.Variables) {
		v := rb.Variables[name]
		for _, val := range v.Validations {
			diags = append(diags, checkCondition(ctx, val.Condition, val.ErrorMessage,
				fmt.Sprintf("Invalid value for variable %q", name),
				fmt.Sprintf("the validation rule at %s", val.DeclRange),
				orRange(srcRange[name], val.Condition.Range()))...)
		}
	}
	return diags
}

// setResolved sets a variable to a value resolved before (see
// VarArg.Resolved).
func (rb *Runbook) setResolved(arg VarArg, set func(string, cty.Value, string, *hcl.Range)) hcl.Diagnostics {
	if _, ok := rb.Variables[arg.Name]; !ok {
		return hcl.Diagnostics{{
			Severity: hcl.DiagWarning,
			Summary:  "Value for undeclared variable",
			Detail:   fmt.Sprintf("%s sets %q, but the runbook declares no such variable; this value is ignored.", arg.Source, arg.Name),
		}}
	}
	set(arg.Name, arg.Resolved, arg.Source, nil)
	return nil
}

// setFromFile reads a variable definitions file: attributes only, literal
// values only. It records in given the variables it sets, or tries to.
func (rb *Runbook) setFromFile(arg VarArg, set func(string, cty.Value, string, *hcl.Range), given map[string]bool) hcl.Diagnostics {
	if diags := CheckSource(arg.Src, arg.File); diags.HasErrors() {
		return diags
	}
	f, diags := hclsyntax.ParseConfig(arg.Src, arg.File, hcl.InitialPos)
	if f == nil {
		return diags
	}
	// A variable file holds secrets, and diagnostics quote the lines of
	// the files kept here: it is kept as a copy with its values masked,
	// each by a marker of the same length whatever the value's, so that a
	// diagnostic names the file and line and underlines the right token
	// (through NewDiagnosticTextWriter) but shows no value nor its length.
	rb.Files[arg.File] = MaskVarFile(f)
	if diags.HasErrors() {
		return diags
	}
	attrs, adiags := f.Body.JustAttributes()
	diags = append(diags, adiags...)
	for _, name := range sortedKeys(attrs) {
		attr := attrs[name]
		if _, ok := rb.Variables[name]; !ok {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagWarning,
				Summary:  "Value for undeclared variable",
				Detail:   fmt.Sprintf("The runbook declares no variable %q; this value is ignored.%s", name, didYouMean(name, sortedKeys(rb.Variables))),
				Subject:  attr.NameRange.Ptr(),
			})
			continue
		}
		given[name] = true
		val, vdiags := attr.Expr.Value(nil)
		if vdiags.HasErrors() {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Variable values must be literals",
				Detail:   "A variable file may only hold literal values: strings, numbers, booleans, lists and maps. References and function calls belong in the runbook.",
				Subject:  attr.Expr.Range().Ptr(),
			})
			continue
		}
		set(name, val, arg.File, attr.Expr.Range().Ptr())
	}
	return diags
}

func orRange(r *hcl.Range, fallback hcl.Range) *hcl.Range {
	if r != nil {
		return r
	}
	return fallback.Ptr()
}
