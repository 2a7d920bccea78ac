package plan

import (
	"time"

	"github.com/zclconf/go-cty/cty"
)

// FormatVersion is the version of the plan's JSON form. Loading refuses
// other major versions. 2.0: every key snake_case (files, checks), and
// durations in seconds (the *_seconds keys).
const FormatVersion = "2.0"

// Action is what apply will do with a step. Its value is the symbol the
// diff shows, as in Terraform's plans.Action.
type Action rune

// The actions.
const (
	NoOp   Action = '='
	Create Action = '+'
	Update Action = '~'
	Run    Action = '!'
	Skip   Action = '-'
)

// String returns the action's name as JSON shows it.
func (a Action) String() string {
	switch a {
	case NoOp:
		return "no-op"
	case Create:
		return "create"
	case Update:
		return "update"
	case Run:
		return "run"
	case Skip:
		return "skip"
	}
	return "unknown"
}

// ParseAction is the inverse of Action.String.
func ParseAction(s string) (Action, bool) {
	for _, a := range []Action{NoOp, Create, Update, Run, Skip} {
		if a.String() == s {
			return a, true
		}
	}
	return 0, false
}

// Changes reports whether the action changes anything.
func (a Action) Changes() bool { return a == Create || a == Update || a == Run }

// Plan is the reviewed description of an apply.
type Plan struct {
	// ID is random, so a plan file can be recognised and consumed once.
	ID          string
	ToolVersion string
	CreatedAt   time.Time
	ExpiresAt   time.Time
	Runbook     Runbook
	// Inputs are the variables' values (non-sensitive) and fingerprints
	// (sensitive), sorted by name.
	Inputs  []Input
	Changes []*Change
	// Checks are the results of policies and preconditions, sorted by
	// address.
	Checks []Check
	// Window is how the run fits the change window; nil when the runbook has
	// no window.
	Window *WindowFit
	// CriticalPath is the expected duration of the whole run.
	CriticalPath time.Duration
	Warnings     []string
	// Targets are the -target addresses the plan was limited to.
	Targets []string
}

// Runbook identifies the runbook a plan was made from.
type Runbook struct {
	// Dir is the runbook directory as given on the command line.
	Dir         string
	Description string
	Owner       string
	// Files are the runbook files and the files they use (PFX files,
	// certificates), with their SHA-256.
	Files []File
	// Endpoints are the systems the runbook's hub and pep blocks name, as
	// the runbook declares them, sorted by block address.
	Endpoints []Endpoint
	// Backend names the shared state backend the plan was made against
	// (its String), "" for the local .runbook directory: a plan is applied
	// only against the backend whose history and key it was made with.
	Backend string
}

// Endpoint is a hub or pep block and where it points: a hub's admin ARM
// endpoint, or a PEP's addresses.
type Endpoint struct {
	// Block is hub.NAME or pep.NAME.
	Block   string `json:"block"`
	Address string `json:"address"`
}

// File is a file and its SHA-256 (hex).
type File struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
}

// Input is one variable.
type Input struct {
	Name      string
	Sensitive bool
	// Value is the value of a non-sensitive variable; cty.NilVal for
	// sensitive ones.
	Value cty.Value
	// Fingerprint is an HMAC-SHA-256 of a sensitive value, keyed with the
	// plan's key, which is not in the plan file.
	Fingerprint string
	// Source says where the value came from.
	Source string
}

// Change is what apply will do with one step.
//
// Before and After are object values of the same shape as far as possible:
// Before is the state read from the stamp (or null when there is none),
// After is the state the step will leave. Either may hold unknown values
// ("known after apply") and sensitive marks; renderers diff them attribute
// by attribute.
type Change struct {
	Address string
	Type    string
	Name    string
	Action  Action
	// Summary completes "# step.x (type) will ...", e.g. "import a new
	// certificate".
	Summary string
	Before  cty.Value
	After   cty.Value
	// DependsOn are the addresses this step waits for, sorted.
	DependsOn []string
	// ExpectedDuration is how long the step is expected to take.
	ExpectedDuration time.Duration
	// Private is data the step type computed at plan time for apply (for
	// example the resolved package id); never secret.
	Private map[string]string
	// Fingerprints are commitments to the step's inputs (file hashes,
	// HMACs of sensitive values) that apply re-checks.
	Fingerprints map[string]string
	// Remote is a token describing the remote state the plan was made
	// against (e.g. the secret's expiry and status); apply re-reads it and
	// refuses to run if it changed.
	Remote string
	// Reason says why the action is what it is, e.g. "the stamp already has
	// this certificate".
	Reason string
}

// Check is the result of a policy, precondition or postcondition.
type Check struct {
	// Address is policy.NAME or step.NAME.precondition[N].
	Address string `json:"address"`
	// Result is "passed", "failed" or "deferred".
	Result  string `json:"result"`
	Message string `json:"message"`
	// Range is where the block is, file:line.
	Range string `json:"range"`
	// Steps are the steps the check judges: the step of a precondition,
	// the steps a policy's condition refers to. Renderers mark the check
	// at these steps.
	Steps []string `json:"steps,omitempty"`
}

// Check results.
const (
	CheckPassed   = "passed"
	CheckFailed   = "failed"
	CheckDeferred = "deferred"
)

// FailedChecks returns the checks that failed.
func (p *Plan) FailedChecks() []Check {
	var out []Check
	for _, c := range p.Checks {
		if c.Result == CheckFailed {
			out = append(out, c)
		}
	}
	return out
}

// WindowFit says whether the run fits its change window.
type WindowFit struct {
	Name  string
	Open  time.Time
	Close time.Time
	// OpenNow is whether the window is open at plan time.
	OpenNow bool
	// Fits is whether the critical path fits between the later of now and
	// Open, and Close.
	Fits  bool
	Spare time.Duration
}

// Counts tallies the changes by action.
func (p *Plan) Counts() map[Action]int {
	m := map[Action]int{}
	for _, c := range p.Changes {
		m[c.Action]++
	}
	return m
}

// HasChanges reports whether applying the plan would change anything.
func (p *Plan) HasChanges() bool {
	for _, c := range p.Changes {
		if c.Action.Changes() {
			return true
		}
	}
	return false
}

// Change returns the change for address, or nil.
func (p *Plan) Change(address string) *Change {
	for _, c := range p.Changes {
		if c.Address == address {
			return c
		}
	}
	return nil
}
