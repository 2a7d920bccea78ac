package executor

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/runbook-dev/runbook/addrs"
	"github.com/runbook-dev/runbook/clock"
	"github.com/runbook-dev/runbook/executor/plan"
	"github.com/runbook-dev/runbook/lang"
	"github.com/runbook-dev/runbook/state"
	"github.com/zclconf/go-cty/cty"
)

// StepType is a kind of step: product_secret, rotate_action, bmc_password.
// It decodes its own body, reads current state and proposes a change at plan
// time, and performs the change at apply time.
//
// Implementations must be safe for concurrent use: the executor plans and
// applies independent steps in parallel.
type StepType interface {
	// Name is the type label, as written in step "NAME" "x" { ... }.
	Name() string
	// Schema is the spec of the step body beyond the common attributes
	// (depends_on, timeout, expected_duration, retry, precondition,
	// postcondition). Decoding keeps sensitive marks.
	Schema() hcldec.Spec
	// Outputs is the type of the step's value, step.NAME, in expressions.
	Outputs() cty.Type
	// ResultKeys names the keys of ApplyResponse.Result that the journal
	// keeps for later plans. Their values must never be secret (hashes,
	// HMAC fingerprints, ids, dates, operation URLs): journals are kept and
	// shared. A key a response sets beyond these is dropped.
	ResultKeys() []string
	// Info describes the type's behaviour for a configuration.
	Info(config cty.Value) Info
	// Plan reads the current state and proposes a change. It may call
	// read-only and validation endpoints, nothing else.
	Plan(ctx context.Context, req *PlanRequest) *PlanResponse
	// Apply performs the planned change.
	Apply(ctx context.Context, req *ApplyRequest) *ApplyResponse
	// Resume re-attaches to a change that a previous run started but did
	// not see finish: it polls the recorded remote operation, or re-reads
	// the state and finishes the change if that is safe.
	Resume(ctx context.Context, req *ResumeRequest) *ApplyResponse
}

// ConfigValidator is implemented by step types that can check a decoded
// configuration without contacting anything (that hub names a hub block,
// that a password has a BMC's shape): validate runs it, so that what plan
// would refuse for the configuration alone, validate refuses too.
type ConfigValidator interface {
	ValidateConfig(rb *lang.Runbook, step *lang.Step, config cty.Value) hcl.Diagnostics
}

// Info describes a step type's behaviour for one configuration.
type Info struct {
	// ExpectedDuration is the default duration for window fitting.
	ExpectedDuration time.Duration
	// Timeout is the default timeout of one attempt.
	Timeout time.Duration
	// RepeatSafe reports whether running the step twice has the same effect
	// as once, so that an interrupted attempt may simply be repeated.
	RepeatSafe bool
	// Targets are the systems the step acts on ("hub.east", "pep.east"),
	// for locking.
	Targets []string
}

// PlanRequest is the input of StepType.Plan.
type PlanRequest struct {
	Address addrs.Step
	// Step is the step block: its body's ranges for diagnostics, its
	// declaration range and its expected_duration.
	Step *lang.Step
	// Config is the decoded body; sensitive values are marked.
	Config cty.Value
	// Runbook gives access to the hub and pep blocks and the runbook
	// directory.
	Runbook *lang.Runbook
	Clock   clock.Clock
	// History is what earlier runs journalled about this step, or nil.
	History *state.History
	// Fingerprint returns the plan-keyed HMAC of a sensitive value.
	Fingerprint func(secret []byte) string
	// DependenciesChange reports whether any step this one depends on
	// will change something.
	DependenciesChange bool
}

// PlanResponse is the output of StepType.Plan.
type PlanResponse struct {
	Action  plan.Action
	Summary string
	Reason  string
	Before  cty.Value
	After   cty.Value
	// Outputs is the step's value at plan time (unknown where only apply
	// will tell); it must conform to the type's Outputs.
	Outputs          cty.Value
	ExpectedDuration time.Duration
	Private          map[string]string
	Fingerprints     map[string]string
	Remote           string
	// Files are local files the step read (PFX files), to hash into the
	// plan.
	Files       []string
	Diagnostics hcl.Diagnostics
}

// ApplyRequest is the input of StepType.Apply.
type ApplyRequest struct {
	Address addrs.Step
	// Step is the step block, as in PlanRequest.
	Step    *lang.Step
	Config  cty.Value
	Runbook *lang.Runbook
	Clock   clock.Clock
	// Planned is the reviewed change.
	Planned *plan.Change
	// Attempt counts from 1.
	Attempt int
	// Progress reports progress; it may be called from any goroutine.
	Progress func(Progress)
	// Handle durably records a remote handle (such as an async operation
	// URL) before the step goes on; the step must stop if it fails.
	Handle func(handle string) error
	// Fingerprint returns the plan-keyed HMAC of a sensitive value.
	Fingerprint func(secret []byte) string
}

// ResumeRequest is the input of StepType.Resume.
type ResumeRequest struct {
	ApplyRequest
	// Handle is the last handle journalled for the step, or "" if the step
	// recorded its intent but no handle.
	Handle string
}

// ApplyResponse is the output of Apply and Resume.
type ApplyResponse struct {
	// Outputs is the step's value after apply.
	Outputs cty.Value
	// Result holds the facts to journal (fingerprints, the new expiry),
	// which later plans read back through History.LastSuccess. Only the
	// keys the type's ResultKeys declares are kept; others are dropped.
	Result map[string]string
	// Err is the failure, if any; Retryable says whether another attempt
	// may help.
	Err       error
	Retryable bool
	// Unknown, with Err, says that the step lost track of a remote
	// operation that may still be running (its status could not be read):
	// the step is neither failed nor done. The journal keeps it in flight,
	// the run stops resumably, and the next apply re-attaches through
	// Resume instead of starting the operation again.
	Unknown bool
}

// Progress is a progress report from a running step.
type Progress struct {
	// Percent is from 0 to 100, or negative when unknown.
	Percent float64
	Message string
}

// Registry is the set of known step types.
type Registry struct {
	types map[string]StepType
}

// NewRegistry returns a registry of the given types; a duplicate name is a
// programming error and panics.
func NewRegistry(types ...StepType) *Registry {
	r := &Registry{types: map[string]StepType{}}
	for _, t := range types {
		if _, dup := r.types[t.Name()]; dup {
			panic(fmt.Sprintf("executor: step type %q registered twice", t.Name()))
		}
		r.types[t.Name()] = t
	}
	return r
}

// Get returns the step type called name.
func (r *Registry) Get(name string) (StepType, bool) {
	t, ok := r.types[name]
	return t, ok
}

// Names returns the registered type names, sorted.
func (r *Registry) Names() []string {
	names := make([]string, 0, len(r.types))
	for n := range r.types {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
