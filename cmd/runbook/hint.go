package main

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// commandLine returns a runbook command for the user to run, with each
// argument quoted where the shell needs it. Every command runbook prints for
// the user (to resume a run, apply a saved plan, inspect a journal, try the
// simulated stamp, see a command's flags) is made here, so that they all
// follow the CLI's grammar, and the scripts run each one as printed.
//
// Flags come first, then the positional arguments: the order every
// subcommand accepts.
func commandLine(args ...string) string {
	var b strings.Builder
	b.WriteString("runbook")
	for _, a := range args {
		b.WriteByte(' ')
		b.WriteString(shellQuote(a))
	}
	return b.String()
}

// shellQuote quotes s for a POSIX shell and for PowerShell alike when it
// holds anything but plain characters: single quotes, a single quote inside
// doubled for PowerShell or closed and escaped for sh.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, needsQuote) < 0 {
		return s
	}
	if isWindows() {
		return "'" + strings.ReplaceAll(s, "'", "''") + "'"
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func needsQuote(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return false
	case strings.ContainsRune("-_./:=,+@%", r):
		return false
	case r == '\\' && isWindows():
		return false
	}
	return true
}

// dirArg returns the runbook argument of a command printed for the user.
func (s *session) dirArg() string {
	if s.target == "" {
		return "."
	}
	return s.target
}

// hintFlags returns the flags a printed follow-up command (apply of a saved
// plan, a resume) needs to run as this one did: -simulate, the -var-files,
// and with vars the -var values of variables that are not sensitive. A
// sensitive value is never printed: it comes again from RUNBOOK_VAR_name, a
// -var-file, or the prompt.
func (s *session) hintFlags(vars bool) []string {
	var args []string
	if s.sim != nil {
		args = append(args, "-simulate")
	}
	if vars && s.autoApproved {
		args = append(args, "-auto-approve")
	}
	for _, a := range s.flags.vars.args {
		switch {
		case a.File != "":
			args = append(args, "-var-file", a.File)
		case vars && a.Name != "":
			if v, ok := s.rb.Variables[a.Name]; ok && !v.Sensitive {
				args = append(args, "-var", a.Name+"="+a.Value)
			}
		}
	}
	if vars {
		for _, t := range s.flags.targets {
			args = append(args, "-target", t)
		}
		if s.flags.window != "" {
			args = append(args, "-window", s.flags.window)
		}
	}
	return args
}

// simulateHint prints, after diagnostics that say a hub or PEP could not be
// reached and when the command did not run with -simulate, how to try the
// runbook against the built-in simulated stamp: the examples in runbooks/
// are written for it, and a first try on a workstation meets this.
func (s *session) simulateHint(diags hcl.Diagnostics) {
	if s.sim != nil {
		return
	}
	for _, d := range diags {
		if d.Severity == hcl.DiagError && (strings.HasPrefix(d.Summary, "Cannot connect to the hub") || strings.HasPrefix(d.Summary, "Cannot open a PEP session")) {
			args := append([]string{"plan", "-simulate"}, s.hintFlags(false)...)
			fmt.Fprintf(s.e.stderr, "To try the runbook against the built-in simulated stamp instead: %s\n", commandLine(append(args, s.dirArg())...))
			return
		}
	}
}
