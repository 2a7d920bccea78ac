package pep

import (
	"fmt"
	"strings"
	"time"

	"github.com/runbook-dev/runbook/pep/psrp"
)

// TranscriptEntry is one command as the PEP transcribes it. Parameter values
// are rendered as PowerShell's transcript shows them: a SecureString as
// "System.Security.SecureString", a credential as its type name; the plain
// text of a secret is never kept.
type TranscriptEntry struct {
	Time    time.Time `json:"time"`
	User    string    `json:"user"`
	Session string    `json:"session"`
	// Command is the command name, or the script text when one was sent.
	Command    string            `json:"command"`
	IsScript   bool              `json:"isScript,omitempty"`
	Parameters []TranscriptParam `json:"parameters,omitempty"`
	// Outcome is "Completed", "Failed: <FullyQualifiedErrorId>" or
	// "Stopped".
	Outcome string `json:"outcome"`
}

// TranscriptParam is one bound parameter in a transcript.
type TranscriptParam struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Text renders the entry in the style of a PowerShell transcript.
func (e TranscriptEntry) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "**********************\n%s %s %s\nPS>", e.Time.UTC().Format(time.RFC3339), e.User, e.Session)
	if e.IsScript {
		fmt.Fprintf(&b, "%s\n", e.Command)
	} else {
		fmt.Fprintf(&b, "CommandInvocation(%s): \"%s\"\n", e.Command, e.Command)
		for _, p := range e.Parameters {
			fmt.Fprintf(&b, ">> ParameterBinding(%s): name=\"%s\"; value=\"%s\"\n", e.Command, p.Name, p.Value)
		}
	}
	fmt.Fprintf(&b, "-- %s\n", e.Outcome)
	return b.String()
}

// transcriptValue renders a parameter value without ever revealing a
// SecureString.
func transcriptValue(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		if x {
			return "True"
		}
		return "False"
	case psrp.SecureString:
		return "System.Security.SecureString"
	case *psrp.Object:
		if x.Is("System.Management.Automation.PSCredential") {
			return "System.Management.Automation.PSCredential"
		}
		if x.ListTag != "" {
			parts := make([]string, len(x.List))
			for i, item := range x.List {
				parts[i] = transcriptValue(item)
			}
			return strings.Join(parts, ", ")
		}
		if x.ToString != "" {
			return x.ToString
		}
		if len(x.TypeNames) > 0 {
			return x.TypeNames[0]
		}
		return "System.Management.Automation.PSObject"
	}
	return fmt.Sprint(v)
}

// Transcript returns the transcript kept on the PEP: every command since the
// last Close-PrivilegedEndpoint, in order.
func (p *PEP) Transcript() []TranscriptEntry {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]TranscriptEntry(nil), p.transcript...)
}

// ShippedTranscripts returns what Close-PrivilegedEndpoint copied to shares.
func (p *PEP) ShippedTranscripts() []TranscriptEntry {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]TranscriptEntry(nil), p.shipped...)
}

func (p *PEP) record(e TranscriptEntry) {
	p.mu.Lock()
	p.transcript = append(p.transcript, e)
	p.mu.Unlock()
	p.save()
}
