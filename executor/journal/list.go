package journal

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/runbook-dev/runbook/internal/boundedread"
)

// ChainState says whether a journal's hash chain verified.
type ChainState string

// The chain states.
const (
	ChainOK ChainState = "ok"
	// ChainTorn: intact except for an incomplete last line (recoverable).
	ChainTorn ChainState = "torn"
	// ChainBroken: a record was altered, removed, inserted or reordered, or
	// the file could not be read. The summary describes the records before
	// the break.
	ChainBroken ChainState = "broken"
)

// StepCounts counts the steps of a run by their last state.
type StepCounts struct {
	Succeeded, Failed, Skipped, InFlight int
}

// RunSummary is one line of `runbook runs`.
type RunSummary struct {
	ID      string
	Path    string
	Started time.Time
	PlanID  string
	User    string
	Status  RunStatus
	Steps   StepCounts
	Chain   ChainState
	// Problem describes a chain that is not ok.
	Problem string
}

// List summarises every run journal (*.jsonl) in dir, oldest first (by
// start time, then id). A missing dir has no runs. A journal that cannot be
// read or verified is still listed, with its Chain state and Problem.
func List(dir string) ([]RunSummary, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []RunSummary
	for _, e := range entries {
		if !e.Type().IsRegular() || !strings.HasSuffix(e.Name(), ".jsonl") {
			continue
		}
		out = append(out, summarise(filepath.Join(dir, e.Name())))
	}
	slices.SortFunc(out, func(a, b RunSummary) int {
		if c := a.Started.Compare(b.Started); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

func summarise(path string) RunSummary {
	var p parsed
	data, err := boundedread.File(path, boundedread.Journal)
	if err != nil {
		p.err = err
	} else {
		p = parse(data)
	}
	return summary(path, p, "")
}

// summary summarises the parsed journal at path; id, if set, is the run
// id when the records do not say (an empty or unreadable journal).
func summary(path string, p parsed, id string) RunSummary {
	r := replay(path, p)
	if r.ID == "" || p.run == "" && id != "" {
		r.ID = id
	}
	s := RunSummary{
		ID: r.ID, Path: path, Started: r.Started, PlanID: r.PlanID, User: r.User, Status: r.Status, Chain: ChainOK,
	}
	if err := withPath(p.err, path); err != nil {
		s.Chain, s.Problem = ChainBroken, err.Error()
		var torn *TornTailError
		if errors.As(err, &torn) {
			s.Chain = ChainTorn
		}
	}
	for _, st := range r.Steps {
		switch {
		case st.InFlight:
			s.Steps.InFlight++
		case st.Status == Succeeded:
			s.Steps.Succeeded++
		case st.Status == Failed:
			s.Steps.Failed++
		case st.Status == Skipped:
			s.Steps.Skipped++
		}
	}
	return s
}
