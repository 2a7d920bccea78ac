package main

import (
	"fmt"

	"github.com/runbook-dev/runbook/internal/gen"
)

// runGen is a hidden developer command: it prints a generated runbook of
// many steps, for the CLI benchmark (bench/plan-apply.sh).
func runGen(e *env, args []string) int {
	fs := newFlagSet(e, "gen", "", "Print a generated runbook of many steps, for benchmarks.")
	shape := fs.String("shape", "layered", "chain, wide or layered")
	steps := fs.Int("steps", 1000, "How many steps")
	stepType := fs.String("type", "wait", "The step type of every step")
	body := fs.String("body", `duration = "1m"`, "The body of every step; %d is the step number")
	if code, ok := parseFlags(fs, e, args); !ok {
		return code
	}
	ok := false
	for _, s := range gen.Shapes {
		ok = ok || string(s) == *shape
	}
	if !ok || *steps < 1 {
		fmt.Fprintln(e.stderr, "runbook gen: -shape is chain, wide or layered, and -steps at least 1")
		return exitUsage
	}
	fmt.Fprint(e.stdout, gen.Runbook(gen.Options{Shape: gen.Shape(*shape), Steps: *steps, StepType: *stepType, Body: *body}))
	return exitOK
}
