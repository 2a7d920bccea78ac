package main

import (
	"errors"
	"fmt"

	"github.com/runbook-dev/runbook/state"
	"github.com/runbook-dev/runbook/state/local"

	"github.com/runbook-dev/runbook/executor/plan"
	"github.com/runbook-dev/runbook/executor/render"
)

func runShow(e *env, args []string) int {
	fs := newFlagSet(e, "show", "PLANFILE [DIR]",
		"Print a saved plan, after checking that it was not changed. The plan is verified\n"+
			"with the key of the runbook in DIR, or in the directory the plan was made in:\n"+
			"the local .runbook directory's, or a shared backend's (RUNBOOK_STATE_KEY), so a\n"+
			"plan made in CI can be read from another checkout of the same runbook.")
	asJSON := fs.Bool("json", false, "Print the plan as JSON")
	asMarkdown := fs.Bool("markdown", false, "Print the plan as Markdown")
	if code, ok := parseFlags(fs, e, args); !ok {
		return code
	}
	if fs.NArg() < 1 || fs.NArg() > 2 {
		fmt.Fprintln(e.stderr, "runbook show: give one plan file, and the runbook directory if the plan was made elsewhere")
		return exitUsage
	}
	p, _, err := readSavedPlan(e, fs.Arg(0), fs.Arg(1))
	if err != nil {
		fmt.Fprintf(e.stderr, "Error: %v\n", err)
		return exitError
	}
	switch {
	case *asJSON:
		render.JSON(e.stdout, p)
	case *asMarkdown:
		render.Markdown(e.stdout, p)
	default:
		render.Text(e.stdout, p, render.Options{Color: e.color(e.stdoutTTY)})
	}
	return exitOK
}

// decodePlan verifies a saved plan with the key in the .runbook directory
// of the runbook at dir. A missing key is not made: the plan was made
// elsewhere, or the key was lost with the directory.
func decodePlan(e *env, path string, data []byte, id, dir string) (*plan.Plan, error) {
	b := local.New(stateFor(dir).root)
	key, err := b.ReadKey(e.ctx)
	if errors.Is(err, state.ErrNotFound) {
		return nil, fmt.Errorf("%s: no key for this plan in %s: plans can only be read or applied beside the runbook they were made from, from the same working directory", path, b.Root)
	}
	if err != nil {
		return nil, err
	}
	p, err := plan.Decode(data, planKey(key, id))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}
