package pep

import (
	"fmt"
	"strings"
	"unicode/utf16"

	"github.com/runbook-dev/runbook/pep/psrp"
)

// kind is a parameter's type.
type kind int

const (
	kString kind = iota
	kStrings
	kSecure
	kSwitch
	kCredential
)

var kindTypeName = map[kind]string{
	kString:     "System.String",
	kStrings:    "System.String[]",
	kSecure:     "System.Security.SecureString",
	kSwitch:     "System.Management.Automation.SwitchParameter",
	kCredential: "System.Management.Automation.PSCredential",
}

// param declares one parameter of a simulated cmdlet.
type param struct {
	name      string
	kind      kind
	mandatory bool
	// maxLen is a ValidateLength upper bound in characters (0: none).
	maxLen int
}

// credential is a bound PSCredential.
type credential struct {
	user     string
	password psrp.SecureString
}

// bindError builds a ParameterBindingException record the way PowerShell
// words them. The messages never quote a value: a value may be a secret.
func bindError(cmd, id, msg string) *psrp.ErrorRecord {
	return &psrp.ErrorRecord{
		Message:               msg,
		FullyQualifiedErrorId: id + "," + cmd,
		Category:              psrp.InvalidArgument,
		Activity:              cmd,
		Reason:                "ParameterBindingException",
		ExceptionType:         "System.Management.Automation.ParameterBindingException",
	}
}

// bind matches the arguments to cmd's parameters (names case-insensitive,
// no abbreviations), converts them and checks the mandatory ones. It also
// returns the transcript form of every argument it saw.
func bind(cmd *cmdlet, args []psrp.Argument) (map[string]any, []TranscriptParam, *psrp.ErrorRecord) {
	bound := map[string]any{}
	var seen []TranscriptParam
	for _, a := range args {
		name := strings.TrimPrefix(a.Name, "-")
		seen = append(seen, TranscriptParam{Name: name, Value: transcriptValue(a.Value)})
	}
	for _, a := range args {
		name := strings.TrimPrefix(a.Name, "-")
		if name == "" {
			return nil, seen, bindError(cmd.name, "PositionalParameterNotFound",
				fmt.Sprintf("A positional parameter cannot be found that accepts argument of type '%s'.", typeName(a.Value)))
		}
		if cmd.anyParams {
			bound[strings.ToLower(name)] = a.Value
			continue
		}
		p := cmd.param(name)
		if p == nil {
			return nil, seen, bindError(cmd.name, "NamedParameterNotFound",
				fmt.Sprintf("A parameter cannot be found that matches parameter name '%s'.", name))
		}
		if _, dup := bound[p.name]; dup {
			return nil, seen, bindError(cmd.name, "ParameterAlreadyBound",
				fmt.Sprintf("Cannot bind parameter because parameter '%s' is specified more than once.", p.name))
		}
		v, ok := convert(p.kind, a.Value)
		if !ok {
			return nil, seen, bindError(cmd.name, "ParameterArgumentTransformationError",
				fmt.Sprintf("Cannot process argument transformation on parameter '%s'. Cannot convert the value of type \"%s\" to type \"%s\".", p.name, typeName(a.Value), kindTypeName[p.kind]))
		}
		if p.maxLen > 0 {
			if s, _ := v.(string); len(utf16.Encode([]rune(s))) > p.maxLen {
				return nil, seen, bindError(cmd.name, "ParameterArgumentValidationError",
					fmt.Sprintf("Cannot validate argument on parameter '%s'. The character length of the %d argument is too long. Shorten the character length of the argument so it is fewer than or equal to \"%d\" characters, and then try the command again.", p.name, len(utf16.Encode([]rune(s))), p.maxLen))
			}
		}
		if p.kind == kSwitch && v == false {
			continue
		}
		bound[p.name] = v
	}
	var missing []string
	for _, p := range cmd.params {
		if _, ok := bound[p.name]; p.mandatory && !ok {
			missing = append(missing, p.name)
		}
	}
	if len(missing) > 0 {
		return nil, seen, bindError(cmd.name, "MissingMandatoryParameter",
			"Cannot process command because of one or more missing mandatory parameters: "+strings.Join(missing, " ")+".")
	}
	return bound, seen, nil
}

// convert applies PowerShell's conversions for the kinds the PEP uses. A
// SecureString must arrive as one and decrypted: a plain string is refused,
// as PowerShell refuses to make a SecureString from a string argument.
func convert(k kind, v any) (any, bool) {
	switch k {
	case kString:
		switch x := v.(type) {
		case string:
			return x, true
		case psrp.SecureString:
			return nil, false
		case nil:
			return "", true
		}
		s := transcriptValue(v)
		return s, s != ""
	case kStrings:
		switch x := v.(type) {
		case string:
			return []string{x}, true
		case *psrp.Object:
			if x.ListTag == "" {
				return nil, false
			}
			out := make([]string, 0, len(x.List))
			for _, item := range x.List {
				s, ok := item.(string)
				if !ok {
					return nil, false
				}
				out = append(out, s)
			}
			return out, true
		}
	case kSecure:
		if ss, ok := v.(psrp.SecureString); ok {
			if _, clear := ss.Reveal(); clear {
				return ss, true
			}
		}
	case kSwitch:
		switch x := v.(type) {
		case nil:
			return true, true
		case bool:
			return x, true
		}
	case kCredential:
		o, ok := v.(*psrp.Object)
		if !ok || !o.Is("System.Management.Automation.PSCredential") {
			return nil, false
		}
		pw, _ := o.Get("Password")
		ss, ok := pw.(psrp.SecureString)
		if !ok {
			return nil, false
		}
		if _, clear := ss.Reveal(); !clear {
			return nil, false
		}
		return credential{user: o.String("UserName"), password: ss}, true
	}
	return nil, false
}

func typeName(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return "System.String"
	case bool:
		return "System.Boolean"
	case int32:
		return "System.Int32"
	case int64:
		return "System.Int64"
	case psrp.SecureString:
		return "System.Security.SecureString"
	case *psrp.Object:
		if len(x.TypeNames) > 0 {
			return strings.TrimPrefix(x.TypeNames[0], "Deserialized.")
		}
		return "System.Management.Automation.PSObject"
	}
	return fmt.Sprintf("%T", v)
}
