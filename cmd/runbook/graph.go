package main

import (
	"fmt"

	"github.com/runbook-dev/runbook/executor"
)

func runGraph(e *env, args []string) int {
	fs := newFlagSet(e, "graph", "[DIR|FILE]", "Print the step graph in Graphviz DOT syntax, e.g.\n  runbook graph runbooks/stamp | dot -Tsvg > stamp.svg")
	if code, ok := parseFlags(fs, e, args); !ok {
		return code
	}
	rb, diags := loadRunbook(e, fs.Arg(0), loadOptions{validate: true})
	if !diags.HasErrors() {
		g, gdiags := executor.Validate(rb, registry())
		diags = append(diags, gdiags...)
		if !diags.HasErrors() {
			printDiags(e, rb.Files, diags)
			fmt.Fprint(e.stdout, g.DOT())
			return exitOK
		}
	}
	printDiags(e, rb.Files, diags)
	return exitError
}
