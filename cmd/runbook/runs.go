package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/runbook-dev/runbook/executor/journal"
	"github.com/runbook-dev/runbook/state"
)

func runRuns(e *env, args []string) int {
	fs := newFlagSet(e, "runs", "[show ID] [DIR]", "List the runs journalled beside a runbook, or print one run's journal\n(ID \"last\" is the latest run).\n  runbook runs [DIR]\n  runbook runs show ID [DIR]")
	asJSON := fs.Bool("json", false, "List the runs as a JSON object (docs/runs.schema.json)")
	if code, ok := parseFlags(fs, e, args); !ok {
		return code
	}
	rest := fs.Args()
	if len(rest) > 0 && rest[0] == "show" {
		if len(rest) < 2 || len(rest) > 3 {
			fmt.Fprintln(e.stderr, "runbook runs show: give a run id and optionally the runbook directory")
			return exitUsage
		}
		dir := ""
		if len(rest) == 3 {
			dir = rest[2]
		}
		b, _, ok := openBackend(e, dir)
		if !ok {
			return exitError
		}
		return showRun(e, b, rest[1])
	}
	if len(rest) > 1 {
		fmt.Fprintln(e.stderr, "runbook runs: too many arguments")
		return exitUsage
	}
	b, _, ok := openBackend(e, fs.Arg(0))
	if !ok {
		return exitError
	}
	runs, err := state.Summaries(e.ctx, b)
	if err != nil {
		fmt.Fprintf(e.stderr, "Error: %v\n", err)
		return exitError
	}
	if *asJSON {
		return printRunsJSON(e, runs)
	}
	if len(runs) == 0 {
		fmt.Fprintln(e.stdout, "No runs yet.")
		return exitOK
	}
	broken := printRunsTable(e, runs)
	if broken {
		fmt.Fprintln(e.stderr, "Warning: a journal's hash chain is broken: it was changed after it was written.")
		for _, r := range runs {
			if r.Chain == journal.ChainBroken {
				fmt.Fprintf(e.stderr, "  %s\n", r.Problem)
			}
		}
		return exitError
	}
	return exitOK
}

// printRunsTable lists the runs as a table and reports whether a journal's
// hash chain is broken (a torn tail is not).
func printRunsTable(e *env, runs []journal.RunSummary) bool {
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tSTARTED\tUSER\tSTATUS\tSTEPS\tJOURNAL")
	broken := false
	for _, r := range runs {
		chain := "intact"
		if r.Chain != journal.ChainOK {
			chain = string(r.Chain)
			if r.Chain != journal.ChainTorn {
				broken = true
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d ok, %d failed, %d skipped\t%s\n", r.ID, r.Started.UTC().Format(time.RFC3339), r.User, r.Status,
			r.Steps.Succeeded, r.Steps.Failed, r.Steps.Skipped, chain)
	}
	tw.Flush()
	return broken
}

func showRun(e *env, b state.Backend, id string) int {
	if id == "last" {
		runs, err := state.Summaries(e.ctx, b)
		if err != nil || len(runs) == 0 {
			fmt.Fprintln(e.stderr, "Error: there is no run yet")
			return exitError
		}
		last := runs[0]
		for _, r := range runs {
			if r.Started.After(last.Started) {
				last = r
			}
		}
		id = last.ID
	}
	if !validRunID(id) {
		fmt.Fprintf(e.stderr, "Error: %q is not a run id: run ids are listed by 'runbook runs' (or use \"last\")\n", id)
		return exitUsage
	}
	recs, err := state.ReadRun(e.ctx, b, id)
	if err != nil {
		fmt.Fprintf(e.stderr, "Error: %v\n", err)
		var ce *journal.ChainError
		if errors.As(err, &ce) || errors.Is(err, journal.ErrTruncated) {
			fmt.Fprintln(e.stderr, "The journal was changed after it was written; do not trust it.")
		}
		return exitError
	}
	for _, r := range recs {
		line := fmt.Sprintf("%4d  %s  %-13s", r.Seq, r.Time.UTC().Format(time.RFC3339), r.Type)
		if r.Step != "" {
			line += " " + r.Step
		}
		for _, kv := range [][2]string{
			{"attempt", itoaNonZero(r.Attempt)}, {"action", r.Action}, {"handle", r.Handle},
			{"percent", itoaNonZero(r.Percent)}, {"status", string(r.Status)}, {"error", r.Error},
			{"reason", r.Reason}, {"plan", r.PlanID}, {"user", r.User}, {"host", r.Host},
		} {
			if kv[1] != "" {
				line += fmt.Sprintf(" %s=%q", kv[0], kv[1])
			}
		}
		fmt.Fprintln(e.stdout, line)
	}
	fmt.Fprintf(e.stdout, "%d records, hash chain intact.\n", len(recs))
	return exitOK
}

func itoaNonZero(i int) string {
	if i == 0 {
		return ""
	}
	return strconv.Itoa(i)
}

// validRunID reports whether id can name a journal in the runs directory:
// one local file name, so that no id reaches outside it.
func validRunID(id string) bool {
	return id != "" && filepath.IsLocal(id) && !strings.ContainsAny(id, `/\:`) && id == filepath.Base(id)
}

// runJSON is one run in `runbook runs -json`.
type runJSON struct {
	ID      string    `json:"id"`
	Started time.Time `json:"started"`
	PlanID  string    `json:"plan_id,omitempty"`
	User    string    `json:"user,omitempty"`
	Status  string    `json:"status"`
	Steps   struct {
		Succeeded int `json:"succeeded"`
		Failed    int `json:"failed"`
		Skipped   int `json:"skipped"`
		InFlight  int `json:"in_flight"`
	} `json:"steps"`
	// Journal is the state of the journal's hash chain: ok, torn (its
	// last line cut short by a crash) or broken (changed after it was
	// written).
	Journal string `json:"journal"`
	Problem string `json:"problem,omitempty"`
}

func printRunsJSON(e *env, runs []journal.RunSummary) int {
	out := struct {
		Runs []runJSON `json:"runs"`
	}{Runs: []runJSON{}}
	code := exitOK
	for _, r := range runs {
		j := runJSON{ID: r.ID, Started: r.Started.UTC(), PlanID: r.PlanID, User: r.User, Status: string(r.Status),
			Journal: string(r.Chain), Problem: r.Problem}
		j.Steps.Succeeded, j.Steps.Failed, j.Steps.Skipped, j.Steps.InFlight = r.Steps.Succeeded, r.Steps.Failed, r.Steps.Skipped, r.Steps.InFlight
		if r.Chain == journal.ChainBroken {
			code = exitError
		}
		out.Runs = append(out.Runs, j)
	}
	b, _ := json.MarshalIndent(out, "", "  ")
	fmt.Fprintf(e.stdout, "%s\n", b)
	return code
}
