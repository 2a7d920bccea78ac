package main

import (
	"fmt"
)

func runValidate(e *env, args []string) int {
	fs := newFlagSet(e, "validate", "[DIR|FILE]",
		"Check a runbook for errors: syntax, types, references, step configuration and\n"+
			"dependency cycles. It contacts no stamp; variables without a value and unset\n"+
			"environment variables are treated as unknown.")
	var vars varFlags
	vars.register(fs)
	if code, ok := parseFlags(fs, e, args); !ok {
		return code
	}
	if fs.NArg() > 1 {
		fmt.Fprintln(e.stderr, "runbook validate: too many arguments; give one directory or file")
		return exitUsage
	}
	rb, diags := loadRunbook(e, fs.Arg(0), loadOptions{vars: &vars, validate: true})
	if !diags.HasErrors() {
		diags = append(diags, validateSteps(rb)...)
	}
	if printDiags(e, rb.Files, diags) {
		return exitError
	}
	fmt.Fprintf(e.stdout, "The runbook is valid: %s, %s, %s, %s, %s.\n",
		count(len(rb.Steps), "step", "steps"), count(len(rb.Hubs), "hub", "hubs"), count(len(rb.PEPs), "pep", "peps"),
		count(len(rb.Windows), "window", "windows"), count(len(rb.Policies), "policy", "policies"))
	return exitOK
}

// count returns "1 step" or "n steps".
func count(n int, one, many string) string {
	return fmt.Sprintf("%d %s", n, plural(n, one, many))
}
