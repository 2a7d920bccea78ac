package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/runbook-dev/runbook/addrs"
	"github.com/runbook-dev/runbook/state"
	"github.com/zclconf/go-cty/cty"
)

// stateView is what `state list` and `state show` print: the history a
// plan reads (state.LoadHistory) and the latest run, read from the
// backend without a lock, a write or a key.
type stateView struct {
	// Backend names where the state lives (state.Backend's String).
	Backend string
	// Steps is every step's history, by address.
	Steps state.Histories
	// Latest is the latest apply run; its ID is "" when there is none.
	Latest latestRun
}

// latestRun is the apply run that started last: the one whose unfinished
// steps the history shows in flight, and that an apply would resume.
type latestRun struct {
	ID      string
	Status  string // succeeded, failed, stopped, or unfinished (running, or killed)
	Started time.Time
	User    string
}

// readStateView reads the history and the latest run from b. Both are
// reads: the history's document and the journals of unsettled runs.
func readStateView(ctx context.Context, b state.Backend) (stateView, error) {
	h, err := state.LoadHistory(ctx, b)
	if err != nil {
		return stateView{}, err
	}
	v := stateView{Backend: b.String(), Steps: h}
	doc, _, err := state.ReadDocument(ctx, b)
	if err != nil {
		return stateView{}, err
	}
	if id, head, ok := doc.Latest(); ok {
		v.Latest = latestRun{ID: id, Status: head.Status, Started: head.Started, User: head.User}
	} else if !doc.Indexed {
		// A store written before runs were registered: its journals are
		// listed, as LoadHistory does; the latest is the last by id.
		runs, err := b.Runs(ctx)
		if err != nil {
			return stateView{}, err
		}
		if len(runs) > 0 {
			v.Latest.ID = runs[len(runs)-1]
		}
	}
	if v.Latest.ID != "" && v.Latest.Status == "" {
		v.Latest.Status = "unfinished"
	}
	return v, nil
}

// addresses returns the addresses of the steps in v, sorted.
func (v stateView) addresses() []addrs.Step {
	return slices.SortedFunc(maps.Keys(v.Steps), func(a, b addrs.Step) int { return strings.Compare(a.Name, b.Name) })
}

// runStateList prints every step's history from b.
func runStateList(e *env, b state.Backend, asJSON bool) int {
	v, err := readStateView(e.ctx, b)
	if err != nil {
		fmt.Fprintf(e.stderr, "Error: %v\n", err)
		return exitError
	}
	if asJSON {
		return printJSON(e, stateListJSONOf(v))
	}
	writeStateList(e.stdout, v)
	return exitOK
}

// writeStateList prints one line per step (address, last success, in
// flight) and a last line naming the backend and the latest run.
func writeStateList(w io.Writer, v stateView) {
	if len(v.Steps) == 0 {
		fmt.Fprintln(w, "No history: no apply has recorded a step yet.")
	} else {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "STEP\tLAST SUCCESS\tIN FLIGHT")
		for _, a := range v.addresses() {
			h := v.Steps[a]
			fmt.Fprintf(tw, "%s\t%s\t%s\n", printable(a.String()), successTime(h), inFlightNote(h, v.Latest.ID))
		}
		tw.Flush()
	}
	fmt.Fprintf(w, "State in %s; %s.\n", v.Backend, describeLatest(v.Latest))
}

// runStateShow prints the history of the step at address arg, from the
// backend of the runbook in dir. The address is checked first, so that
// `state show DIR` says what is wrong with it.
func runStateShow(e *env, arg, dir string, asJSON bool) int {
	addr, err := addrs.ParseStep(arg)
	if err != nil {
		fmt.Fprintf(e.stderr, "Error: %v\n", err)
		return exitUsage
	}
	b, rb, ok := openBackend(e, dir)
	if !ok {
		return exitError
	}
	v, err := readStateView(e.ctx, b)
	if err != nil {
		fmt.Fprintf(e.stderr, "Error: %v\n", err)
		return exitError
	}
	h := v.Steps.Of(addr)
	if h == nil {
		_, declared := rb.Steps[addr.Name]
		if declared {
			fmt.Fprintf(e.stderr, "Error: %s has no history in %s: no apply of it has succeeded, and the latest run did not leave it running.\n", addr, v.Backend)
			return exitError
		}
		var names []string
		for _, a := range v.addresses() {
			names = append(names, a.String())
		}
		for name := range rb.Steps {
			if _, ok := v.Steps[addrs.StepOf(name)]; !ok {
				names = append(names, addrs.StepOf(name).String())
			}
		}
		fmt.Fprintf(e.stderr, "Error: no step %s in the runbook or in the history of %s.%s\n", addr, v.Backend, didYouMean(addr.String(), names))
		return exitError
	}
	secrets := knownSecrets(rb.EvalContext(nil, cty.NilVal))
	if asJSON {
		return printJSON(e, stateShowJSONOf(addr, h, v.Latest.ID, secrets))
	}
	writeStateShow(e.stdout, addr, h, v.Latest.ID, secrets)
	return exitOK
}

// writeStateShow prints what the history holds of one step: when it last
// succeeded, the result that apply journalled, and whether the latest run
// left it running. A value that is or holds one of secrets prints as
// "(sensitive value)" (redactResult).
func writeStateShow(w io.Writer, addr addrs.Step, h *state.History, latest string, secrets []string) {
	fmt.Fprintf(w, "# %s\n", printable(addr.String()))
	fmt.Fprintf(w, "last success: %s\n", successTime(h))
	if h.LastSuccess != nil {
		result := redactResult(h.LastSuccess, secrets)
		keys := slices.Sorted(maps.Keys(result))
		if len(keys) == 0 {
			fmt.Fprintln(w, "result: (none: the step type keeps no result)")
		} else {
			fmt.Fprintln(w, "result:")
			width := 0
			for _, k := range keys {
				width = max(width, len(printable(k)))
			}
			for _, k := range keys {
				val := sensitiveText
				if v := result[k]; v != nil {
					val = strconv.Quote(*v)
				}
				fmt.Fprintf(w, "  %-*s = %s\n", width, printable(k), val)
			}
		}
	}
	if !h.InFlight {
		fmt.Fprintln(w, "in flight: no")
		return
	}
	line := "in flight: yes"
	if latest != "" {
		line += ", left running by run " + latest
	}
	if h.Handle != "" {
		line += ", handle " + strconv.Quote(h.Handle)
	}
	fmt.Fprintln(w, line+"; the next apply resumes that run and re-attaches to the step rather than start it again")
}

// successTime is a step's last success time, UTC, RFC 3339.
func successTime(h *state.History) string {
	if h.LastSuccess == nil {
		return "never"
	}
	return h.LastSuccessAt.UTC().Format(time.RFC3339)
}

// inFlightNote says whether the latest run left the step running.
func inFlightNote(h *state.History, latest string) string {
	switch {
	case !h.InFlight:
		return "-"
	case latest == "":
		return "in flight"
	}
	return "in flight (run " + latest + ")"
}

// describeLatest names the latest run and how it ended.
func describeLatest(l latestRun) string {
	if l.ID == "" {
		return "no run yet"
	}
	s := "latest run " + l.ID + ", " + l.Status
	if !l.Started.IsZero() {
		s += ", started " + l.Started.UTC().Format(time.RFC3339)
	}
	if l.User != "" {
		s += " by " + l.User
	}
	return s
}

// printable quotes s when it holds anything a terminal could take for a
// control sequence: the history comes from a store others can write.
func printable(s string) string {
	if strconv.CanBackquote(s) {
		return s
	}
	return strconv.Quote(s)
}

// stateListJSON is `runbook state list -json` (docs/state-list.schema.json).
type stateListJSON struct {
	Backend string          `json:"backend"`
	Latest  *latestRunJSON  `json:"latest_run,omitempty"`
	Steps   []stateStepJSON `json:"steps"`
}

type latestRunJSON struct {
	ID      string     `json:"id"`
	Status  string     `json:"status"`
	Started *time.Time `json:"started,omitempty"`
	User    string     `json:"user,omitempty"`
}

// stateStepJSON is one step in `state list -json`, and with its result
// `state show -json` (docs/state-show.schema.json).
type stateStepJSON struct {
	Address     string             `json:"address"`
	LastSuccess *time.Time         `json:"last_success,omitempty"`
	Result      map[string]*string `json:"result,omitempty"` // nil: a sensitive value
	InFlight    bool               `json:"in_flight"`
	Run         string             `json:"run,omitempty"`
	Handle      string             `json:"handle,omitempty"`
}

func stateListJSONOf(v stateView) stateListJSON {
	out := stateListJSON{Backend: v.Backend, Steps: []stateStepJSON{}}
	if v.Latest.ID != "" {
		l := &latestRunJSON{ID: v.Latest.ID, Status: v.Latest.Status, User: v.Latest.User}
		if !v.Latest.Started.IsZero() {
			t := v.Latest.Started.UTC()
			l.Started = &t
		}
		out.Latest = l
	}
	for _, a := range v.addresses() {
		s := stateShowJSONOf(a, v.Steps[a], v.Latest.ID, nil)
		s.Result = nil
		out.Steps = append(out.Steps, s)
	}
	return out
}

func stateShowJSONOf(addr addrs.Step, h *state.History, latest string, secrets []string) stateStepJSON {
	s := stateStepJSON{Address: addr.String(), InFlight: h.InFlight}
	if h.LastSuccess != nil {
		t := h.LastSuccessAt.UTC()
		s.LastSuccess = &t
		s.Result = redactResult(h.LastSuccess, secrets)
	}
	if h.InFlight {
		s.Run, s.Handle = latest, h.Handle
	}
	return s
}

// printJSON prints v as indented JSON.
func printJSON(e *env, v any) int {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		fmt.Fprintf(e.stderr, "Error: %v\n", err)
		return exitError
	}
	fmt.Fprintf(e.stdout, "%s\n", b)
	return exitOK
}
