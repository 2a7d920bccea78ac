package journal

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/runbook-dev/runbook/internal/boundedread"
)

// RunStatus is the state of a run as its journal shows it.
type RunStatus string

// The run states. Succeeded, Failed and Stopped come from the run_ended
// record; a run without one is Unfinished (still running, or crashed): a
// resume re-attaches to it.
const (
	RunSucceeded  RunStatus = "succeeded"
	RunFailed     RunStatus = "failed"
	RunStopped    RunStatus = "stopped"
	RunUnfinished RunStatus = "unfinished"
)

// Run is a run replayed from its journal.
type Run struct {
	ID   string
	Path string
	// From the run_started record.
	PlanID, PlanHash, User, Host, ToolVersion string
	Started                                   time.Time
	// Ended is the time of the run_ended record, zero if there is none.
	Ended  time.Time
	Status RunStatus
	// Reason and Error come from the last run_ended record.
	Reason, Error string
	// Resumes counts run_resumed records.
	Resumes int
	// Steps holds the last known state of every step the journal mentions.
	Steps map[string]*Step
	// Records is the number of records; Head the hash of the last one.
	Records int
	Head    string
	// Torn is set when the file ends in a torn line, which Open cuts off.
	Torn bool
}

// Step is the last known state of one step in a run.
type Step struct {
	Addr string
	// InFlight: an intent was written and no result after it. The side
	// effect may have started; a resume must find out (poll Handle, or
	// read the remote state) before doing anything else.
	InFlight bool
	// Status is the last result's, empty while in flight or never run.
	Status  Status
	Attempt int
	Action  string
	Handle  string
	Percent int
	Error   string
	Reason  string
	// Result is what the last successful attempt reported (see
	// Record.Result); nil otherwise.
	Result map[string]string
	// Fingerprint is the fact older journals kept instead of Result.
	Fingerprint string
	// Started is the time of the last intent, Updated of the last record
	// about the step.
	Started, Updated time.Time
}

// InFlight returns, sorted, the steps with an intent and no result.
func (r *Run) InFlight() []string {
	var out []string
	for a, s := range r.Steps {
		if s.InFlight {
			out = append(out, a)
		}
	}
	slices.Sort(out)
	return out
}

// Load replays the journal at path. It fails on a broken chain
// (*ChainError): a resume must not trust a journal that was altered. A torn
// last line is ignored and reported in Run.Torn.
func Load(path string) (*Run, error) {
	data, err := boundedread.File(path, boundedread.Journal)
	if err != nil {
		return nil, err
	}
	p := parse(data)
	var torn *TornTailError
	if err := withPath(p.err, path); err != nil && !errors.As(err, &torn) {
		return nil, err
	}
	r := replay(path, p)
	r.Torn = torn != nil
	return r, nil
}

// Replay replays the journal of run id read from elsewhere (a shared state
// backend), as Load does; name says where it was read, for messages.
func Replay(id, name string, data []byte) (*Run, error) {
	p := parse(data)
	var torn *TornTailError
	if err := withPath(p.err, name); err != nil && !errors.As(err, &torn) {
		return nil, err
	}
	r := replay(name, p)
	r.ID = id
	r.Torn = torn != nil
	return r, nil
}

// replay rebuilds a run from the verified records of p.
func replay(path string, p parsed) *Run {
	r := &Run{
		ID:     strings.TrimSuffix(filepath.Base(path), ".jsonl"),
		Path:   path,
		Status: RunUnfinished,
		Steps:  map[string]*Step{},
		Head:   p.head,
	}
	for _, rec := range p.records {
		r.Records++
		switch rec.Type {
		case RunStarted:
			r.ID, r.Started = rec.Run, rec.Time
			r.PlanID, r.PlanHash, r.User, r.Host, r.ToolVersion = rec.PlanID, rec.PlanHash, rec.User, rec.Host, rec.ToolVersion
		case RunResumed:
			r.Resumes++
			r.Status, r.Ended, r.Reason, r.Error = RunUnfinished, time.Time{}, "", ""
		case RunEnded:
			r.Status, r.Ended, r.Reason, r.Error = RunStatus(rec.Status), rec.Time, rec.Reason, rec.Error
		}
		if rec.Type.isStep() {
			replayStep(r, rec)
		}
	}
	return r
}

func replayStep(r *Run, rec Record) {
	s := r.Steps[rec.Step]
	if s == nil {
		s = &Step{Addr: rec.Step}
		r.Steps[rec.Step] = s
	}
	s.Updated = rec.Time
	if rec.Attempt != 0 {
		s.Attempt = rec.Attempt
	}
	if rec.Fingerprint != "" {
		s.Fingerprint = rec.Fingerprint
	}
	switch rec.Type {
	case StepIntent:
		// A new attempt: forget the previous one's outcome and handle.
		s.InFlight, s.Status, s.Started = true, "", rec.Time
		s.Action, s.Handle, s.Percent, s.Error, s.Reason, s.Result = rec.Action, "", 0, "", "", nil
	case StepHandle:
		s.Handle = rec.Handle
	case StepProgress:
		s.Percent = rec.Percent
	case StepResult:
		s.InFlight, s.Status, s.Error, s.Reason = false, rec.Status, rec.Error, rec.Reason
		if rec.Status == Succeeded {
			s.Percent, s.Result = 100, rec.Result
		}
	}
}
