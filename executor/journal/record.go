package journal

import (
	"fmt"
	"time"
)

// Type is the kind of a record.
type Type string

// The record types, in the order a run usually writes them.
const (
	// RunStarted is the first record of every journal: run id, plan, user,
	// host and tool version.
	RunStarted Type = "run_started"
	// RunResumed marks a later apply continuing this run.
	RunResumed Type = "run_resumed"
	// StepIntent is written before a step's side effect: Step, Attempt,
	// Action and, where the step sets secret material, its Fingerprint.
	StepIntent Type = "step_intent"
	// StepHandle records a remote handle of the operation the step started
	// (for example an Azure-AsyncOperation URL), so that a resumed run can
	// poll it instead of starting the operation again.
	StepHandle Type = "step_handle"
	// StepProgress records progress (Percent) of a running step.
	StepProgress Type = "step_progress"
	// StepResult is written after a step finished or was skipped: Status,
	// and Error or Reason.
	StepResult Type = "step_result"
	// RunEnded is written when an apply ends: Status and Reason.
	RunEnded Type = "run_ended"
	// Note is any other event worth auditing, described in Reason.
	Note Type = "note"
)

func (t Type) known() bool {
	switch t {
	case RunStarted, RunResumed, StepIntent, StepHandle, StepProgress, StepResult, RunEnded, Note:
		return true
	}
	return false
}

func (t Type) isStep() bool {
	return t == StepIntent || t == StepHandle || t == StepProgress || t == StepResult
}

// Status is the outcome carried by step_result and run_ended records.
type Status string

// The statuses. A step_result carries Succeeded, Failed or Skipped; a
// run_ended carries Succeeded, Failed or Stopped.
const (
	Succeeded Status = "succeeded"
	Failed    Status = "failed"
	// Skipped: the step could not run because a step it depends on failed.
	Skipped Status = "skipped"
	// Stopped: the run ended early without a failure of its own (the change
	// window closed, or an interrupt), leaving steps that a resume can run.
	Stopped Status = "stopped"
)

// Record is one line of the journal. Append sets Seq, Time and Prev (and
// Run on the first record); the other fields are the payload, each
// meaningful for the types named in its comment and omitted when empty.
type Record struct {
	// Seq numbers the records of a file from 1 without gaps.
	Seq uint64 `json:"seq"`
	// Time is when the record was appended, on the journal's clock, in UTC
	// (RFC 3339 with nanoseconds).
	Time time.Time `json:"time"`
	Type Type      `json:"type"`
	// Step is the step address (step.<name>): required on step_* records,
	// optional on notes.
	Step string `json:"step,omitempty"`

	// Run is the run id (run_started).
	Run string `json:"run,omitempty"`
	// PlanID and PlanHash identify the saved plan being applied
	// (run_started, run_resumed).
	PlanID   string `json:"plan_id,omitempty"`
	PlanHash string `json:"plan_hash,omitempty"`
	// User, Host and ToolVersion say who ran the apply, where, with what
	// (run_started, run_resumed).
	User        string `json:"user,omitempty"`
	Host        string `json:"host,omitempty"`
	ToolVersion string `json:"tool_version,omitempty"`

	// Attempt numbers the tries of a step from 1 (step_*).
	Attempt int `json:"attempt,omitempty"`
	// Action says what the step is about to do, e.g. "import" (step_intent).
	Action string `json:"action,omitempty"`
	// Handle is the remote operation's handle (step_handle).
	Handle string `json:"handle,omitempty"`
	// Percent is progress from 0 to 100 (step_progress; 0 is omitted).
	Percent int `json:"percent,omitempty"`
	// Status is the outcome (step_result, run_ended).
	Status Status `json:"status,omitempty"`
	// Error is the failure message (step_result with Failed, run_ended).
	// It must not contain secret values.
	Error string `json:"error,omitempty"`
	// Reason explains a skip (the failed step), a stop, a resume or a note;
	// on a step_intent, why the plan chose the step's action (a wait
	// step's reason, such as a manual task in a portal).
	Reason string `json:"reason,omitempty"`
	// Result holds the facts a successful step reported for later plans
	// (step_result with Succeeded): the keys its step type declared, whose
	// values are never secret (hashes, HMAC fingerprints, ids, dates).
	Result map[string]string `json:"result,omitempty"`
	// Fingerprint identifies secret material the step sets, as an HMAC or
	// hash, never the material. Journals written before Result was kept
	// hold a step's only fact here; it is read, no longer written.
	Fingerprint string `json:"fingerprint,omitempty"`

	// Prev is the hex SHA-256 of the previous record's line, or
	// Genesis(run) for the first record.
	Prev string `json:"prev"`
}

// check reports what is wrong with the payload of rec, to be appended as
// record number seq.
func (rec *Record) check(seq uint64) error {
	if !rec.Type.known() {
		return fmt.Errorf("unknown record type %q", rec.Type)
	}
	if (seq == 1) != (rec.Type == RunStarted) {
		return fmt.Errorf("%s record as record %d: run_started must be the first record and only the first", rec.Type, seq)
	}
	switch {
	case rec.Type.isStep() && rec.Step == "":
		return fmt.Errorf("%s record without a step address", rec.Type)
	case !rec.Type.isStep() && rec.Type != Note && rec.Step != "":
		return fmt.Errorf("%s record with step %q: only step records and notes name a step", rec.Type, rec.Step)
	}
	if rec.Result != nil && rec.Type != StepResult {
		return fmt.Errorf("%s record with a result: only step_result records carry one", rec.Type)
	}
	if rec.Percent < 0 || rec.Percent > 100 {
		return fmt.Errorf("%s record: percent %d out of range 0-100", rec.Type, rec.Percent)
	}
	switch rec.Type {
	case StepHandle:
		if rec.Handle == "" {
			return fmt.Errorf("step_handle record for %s without a handle", rec.Step)
		}
	case StepResult:
		if rec.Status != Succeeded && rec.Status != Failed && rec.Status != Skipped {
			return fmt.Errorf("step_result record for %s with status %q", rec.Step, rec.Status)
		}
		if rec.Result != nil && rec.Status != Succeeded {
			return fmt.Errorf("step_result record for %s: a %s step has no result to keep", rec.Step, rec.Status)
		}
	case RunEnded:
		if rec.Status != Succeeded && rec.Status != Failed && rec.Status != Stopped {
			return fmt.Errorf("run_ended record with status %q", rec.Status)
		}
	case Note:
		if rec.Reason == "" {
			return fmt.Errorf("note record without a reason")
		}
	}
	return nil
}
