package main

import (
	"fmt"
	"time"

	"github.com/runbook-dev/runbook/executor"
	"github.com/runbook-dev/runbook/executor/plan"
	"github.com/runbook-dev/runbook/executor/render"
)

func runPlan(e *env, args []string) int {
	fs := newFlagSet(e, "plan", "[DIR|FILE]",
		"Show what apply would do: read the stamp's current state through each step type,\n"+
			"check policies and preconditions, and fit the run into the change window.\n"+
			"Plan only reads and validates; it changes nothing.")
	var f planFlags
	f.register(fs)
	out := fs.String("out", "", "Save the plan to `file` for a later apply")
	asJSON := fs.Bool("json", false, "Print the plan as JSON (docs/plan-json.md)")
	asMarkdown := fs.Bool("markdown", false, "Print the plan as Markdown, for a pull request")
	detailed := fs.Bool("detailed-exitcode", false, "Exit 0 with no changes, 1 on error, 2 with changes")
	planTTL := positiveDuration(executor.DefaultPlanTTL)
	fs.Var(&planTTL, "plan-ttl", "How long a saved plan stays valid (more than zero)")
	ttl := (*time.Duration)(&planTTL)
	if code, ok := parseFlags(fs, e, args); !ok {
		return code
	}
	if fs.NArg() > 1 {
		fmt.Fprintln(e.stderr, "runbook plan: too many arguments; give one directory or file")
		return exitUsage
	}
	if *asJSON && *asMarkdown {
		fmt.Fprintln(e.stderr, "runbook plan: -json and -markdown cannot be used together")
		return exitUsage
	}
	s, ok := openSession(e, fs.Arg(0), &f, nil)
	if !ok {
		return exitError
	}
	defer s.close()
	p, diags := s.plan(e.ctx)
	if diags.HasErrors() {
		// A plan that a policy or precondition rejected is still shown, with
		// the failed checks marked at their steps: the reviewer sees what
		// was judged. It is never saved.
		if p != nil && len(p.FailedChecks()) > 0 {
			p.ExpiresAt = p.CreatedAt.Add(*ttl)
			renderPlan(e, p.Plan, *asJSON, *asMarkdown)
		}
		printDiags(e, s.rb.Files, diags)
		s.simulateHint(diags)
		return exitError
	}
	printDiags(e, s.rb.Files, diags)
	p.ExpiresAt = p.CreatedAt.Add(*ttl)
	renderPlan(e, p.Plan, *asJSON, *asMarkdown)
	if *out != "" && !savePlanFile(e, s, p.Plan, *out, !*asJSON && !*asMarkdown) {
		return exitError
	}
	if *detailed && p.HasChanges() {
		return exitChanges
	}
	return exitOK
}

// savePlanFile saves p to path and, with hint, tells how to apply it; on
// an error it prints it and returns false.
func savePlanFile(e *env, s *session, p *plan.Plan, path string, hint bool) bool {
	if err := savePlan(s, p, path); err != nil {
		fmt.Fprintf(e.stderr, "runbook plan: %v\n", err)
		return false
	}
	if hint {
		fmt.Fprintf(e.stdout, "\nSaved the plan to %s (valid until %s). Apply it with:\n  %s\n",
			path, p.ExpiresAt.UTC().Format(time.RFC3339), commandLine(append(append([]string{"apply"}, s.hintFlags(false)...), path)...))
	}
	return true
}

// renderPlan prints p in the chosen format.
func renderPlan(e *env, p *plan.Plan, asJSON, asMarkdown bool) {
	switch {
	case asJSON:
		render.JSON(e.stdout, p)
	case asMarkdown:
		render.Markdown(e.stdout, p)
	default:
		render.Text(e.stdout, p, render.Options{Color: e.color(e.stdoutTTY)})
	}
}

func savePlan(s *session, p *plan.Plan, path string) error {
	data, err := plan.Encode(p, planKey(s.key, p.ID))
	if err != nil {
		return fmt.Errorf("encode the plan: %w", err)
	}
	if err := writePrivate(path, data); err != nil {
		return fmt.Errorf("save the plan: %w", err)
	}
	return nil
}
