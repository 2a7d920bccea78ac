package pep

import (
	"encoding/base64"
	"fmt"
	"sort"
	"time"

	"github.com/runbook-dev/runbook/pep/psrp"
)

// Param is one named parameter of a Call. A switch parameter is Value
// true. Secret marks a value that must travel only encrypted: a string (sent
// as a SecureString), a psrp.SecureString or a Credential.
type Param struct {
	Name   string
	Value  any
	Secret bool
}

// Format prints the parameter as "-Name value", or "-Name <secret>" when it
// is Secret, for every fmt verb: a Param in a log line never shows a secret.
func (p Param) Format(f fmt.State, _ rune) {
	if p.Secret {
		fmt.Fprintf(f, "-%s <secret>", p.Name)
		return
	}
	fmt.Fprintf(f, "-%s %v", p.Name, p.Value)
}

// Call is one command with named parameters: the only thing the PEP runs.
type Call struct {
	Cmdlet string
	Params []Param
	// Events, when set, is told of each progress and information record
	// as it arrives, while the command runs: a long action plan such as
	// Start-SecretRotation names its instance id and reports progress
	// long before it ends. It is called on the invoking goroutine.
	Events func(Event)
}

// Event is one record a running command wrote: Progress, or Information
// when Progress is nil.
type Event struct {
	Progress    *Progress
	Information string
}

// Credential is a PSCredential parameter value (-PathAccessCredential,
// -Credential). It must be passed with Secret set.
type Credential struct {
	Username string
	Password string
}

// String hides the password.
func (c Credential) String() string { return "PSCredential(" + c.Username + ")" }

// GoString hides the password.
func (c Credential) GoString() string {
	return "pep.Credential{Username: " + fmt.Sprintf("%q", c.Username) + "}"
}

// Format hides the password from every fmt verb.
func (c Credential) Format(f fmt.State, _ rune) { fmt.Fprint(f, c.String()) }

// ErrorRecord is a PowerShell error as the client reports it.
type ErrorRecord struct {
	Message               string
	FullyQualifiedErrorId string
	// Category is the ErrorCategory name, e.g. "ObjectNotFound".
	Category string
	// Reason is the exception's short type name; Exception its full name.
	Reason    string
	Exception string
}

func errorRecord(r psrp.ErrorRecord) ErrorRecord {
	return ErrorRecord{
		Message:               r.Message,
		FullyQualifiedErrorId: r.FullyQualifiedErrorId,
		Category:              r.Category.String(),
		Reason:                r.Reason,
		Exception:             r.ExceptionType,
	}
}

// Progress is one progress record.
type Progress struct {
	Activity string
	Status   string
	Percent  int
	// Completed marks the record that ends the activity.
	Completed bool
}

// Result is what a command produced. Output holds the deserialized objects
// (*psrp.Object, string, …); Objects gives them as plain maps.
type Result struct {
	Output []any
	// Errors are the non-terminating errors the command wrote; a
	// terminating error is returned as a *CommandError instead.
	Errors      []ErrorRecord
	Warnings    []string
	Verbose     []string
	Information []string
	Progress    []Progress
}

// Objects returns Output in plain form (see Plain).
func (r Result) Objects() []any {
	out := make([]any, len(r.Output))
	for i, v := range r.Output {
		out[i] = Plain(v)
	}
	return out
}

// CommandError is a command's terminating error: the pipeline failed (or was
// stopped) on the PEP. Its text is the record's message and id.
type CommandError struct {
	Cmdlet string
	Record ErrorRecord
	// Stopped is true when the pipeline was stopped rather than failed.
	Stopped bool
}

func (e *CommandError) Error() string {
	return fmt.Sprintf("pep: %s: %s (%s)", e.Cmdlet, e.Record.Message, e.Record.FullyQualifiedErrorId)
}

// Plain converts a deserialized value to plain Go: an object with
// properties becomes map[string]any (extended properties win over adapted
// ones), a list []any, a dictionary map[string]any keyed by the keys' text,
// an enum its name, a GUID or Version its text, a SecureString its type
// name; other primitives stay as they are. A shared object is converted
// once per path; a cycle ends in the object's ToString.
func Plain(v any) any { return plain(v, map[*psrp.Object]bool{}) }

func plain(v any, onPath map[*psrp.Object]bool) any {
	switch x := v.(type) {
	case *psrp.Object:
		if x == nil {
			return nil
		}
		if onPath[x] {
			return x.ToString
		}
		onPath[x] = true
		defer delete(onPath, x)
		switch {
		case x.ListTag != "":
			out := make([]any, len(x.List))
			for i, item := range x.List {
				out[i] = plain(item, onPath)
			}
			return out
		case x.Dict != nil:
			out := make(map[string]any, len(x.Dict))
			for _, e := range x.Dict {
				out[fmt.Sprint(plain(e.Key, onPath))] = plain(e.Value, onPath)
			}
			return out
		case len(x.Props) == 0 && len(x.Members) == 0 && x.Value != nil:
			if x.ToString != "" {
				return x.ToString
			}
			return plain(x.Value, onPath)
		case len(x.Props) == 0 && len(x.Members) == 0:
			return x.ToString
		}
		out := make(map[string]any, len(x.Props)+len(x.Members))
		for _, p := range x.Props {
			out[p.Name] = plain(p.Value, onPath)
		}
		for _, p := range x.Members {
			out[p.Name] = plain(p.Value, onPath)
		}
		return out
	case psrp.GUID:
		return x.String()
	case psrp.Version:
		return string(x)
	case psrp.SecureString:
		return x.String()
	case psrp.Unknown:
		return x.Text
	case time.Time, string, bool, nil:
		return x
	}
	return v
}

// sortedNames returns the parameter names of a call, for logs.
func sortedNames(ps []Param) []string {
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = p.Name
	}
	sort.Strings(names)
	return names
}

func encode64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
