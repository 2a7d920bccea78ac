package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/runbook-dev/runbook/addrs"
	"github.com/runbook-dev/runbook/clock"
	"github.com/runbook-dev/runbook/executor"
	"github.com/runbook-dev/runbook/hub"
	"github.com/runbook-dev/runbook/lang"
	"github.com/runbook-dev/runbook/pep"
	"github.com/runbook-dev/runbook/state"
	"github.com/runbook-dev/runbook/steps"
)

// testClock, when set (only by the test binary), replaces the wall clock.
var testClock func() clock.Clock

// clockFor returns the clock commands run on: the wall clock, or the test
// binary's.
func clockFor() clock.Clock {
	if testClock != nil {
		return testClock()
	}
	return clock.Real
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(s string) error { *l = append(*l, s); return nil }

// positiveInt is an int flag that must be at least 1.
type positiveInt int

func (p *positiveInt) String() string { return strconv.Itoa(int(*p)) }

func (p *positiveInt) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil {
		return errors.New("not a whole number")
	}
	if n < 1 {
		return fmt.Errorf("%d: must be at least 1", n)
	}
	*p = positiveInt(n)
	return nil
}

// positiveDuration is a duration flag that must be more than zero.
type positiveDuration time.Duration

func (p *positiveDuration) String() string { return time.Duration(*p).String() }

func (p *positiveDuration) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return errors.New("not a duration such as 30m or 24h")
	}
	if d <= 0 {
		return fmt.Errorf("%s: must be more than zero", s)
	}
	*p = positiveDuration(d)
	return nil
}

// planFlags are the flags plan and apply share.
type planFlags struct {
	vars        varFlags
	targets     stringList
	parallelism int
	window      string
	simulate    bool
}

func (f *planFlags) register(fs *flag.FlagSet) {
	f.vars.register(fs)
	fs.Var(&f.targets, "target", "Limit the run to a step `address` and what it depends on (repeatable)")
	f.parallelism = executor.DefaultParallelism
	fs.Var((*positiveInt)(&f.parallelism), "parallelism", "Run at most `n` steps at once (at least 1)")
	fs.StringVar(&f.window, "window", "", "Fit the run into the change window `name`")
	fs.BoolVar(&f.simulate, "simulate", false, "Run against the built-in simulated stamp (Hub and PEP) instead of real systems")
}

// session is a loaded runbook with everything needed to plan or apply it.
type session struct {
	e      *env
	target string
	rb     *lang.Runbook
	state  stateDir
	// remote is the shared backend the runbook configures, nil when its
	// state lives in the local .runbook directory.
	remote state.Backend
	// leases are the locks an apply holds, where its state lives.
	leases []state.Lease
	// newRun is the id of the run an apply will start,
	// chosen before its locks are taken so that they name it.
	newRun string
	key    []byte
	clock  clock.Clock
	hubs   *steps.Conns
	peps   steps.PEPSource
	// served reads the endpoints' certificates (the simulated stamp's
	// under -simulate; nil: over TLS).
	served steps.ServedCertificates
	sim    *simStamp
	flags  *planFlags
	// autoApproved says that apply ran with -auto-approve, which the
	// printed resume command then carries.
	autoApproved bool
	// json says that stdout carries JSON, so messages go to stderr.
	json bool

	logFile *os.File

	// recorder keeps the state document in step with the running apply.
	recorder *state.Recorder
}

// open loads the runbook at target and connects it to the real stamp or to
// the simulated one. Diagnostics are printed; ok is false on errors.
func openSession(e *env, target string, f *planFlags, extraVars []lang.VarArg) (*session, bool) {
	s := &session{e: e, target: target, state: stateFor(target), flags: f, clock: clockFor()}
	if f.simulate {
		sim, err := startSimStamp(e, s.state, s.clock)
		if err != nil {
			fmt.Fprintf(e.stderr, "runbook: the simulated stamp did not start: %v\n", err)
			return nil, false
		}
		s.sim = sim
		s.clock = sim.clock
	}
	if !s.load(extraVars) || !s.setUp() {
		s.close()
		return nil, false
	}
	s.connect()
	return s, true
}

// load loads the runbook with the command's variables (extraVars first),
// asks on a terminal for the ones without a value, and prints its
// diagnostics; it returns false when the runbook cannot be used.
func (s *session) load(extraVars []lang.VarArg) bool {
	e, f := s.e, s.flags
	vars := &f.vars
	if len(extraVars) > 0 {
		vars = &varFlags{args: append(append([]lang.VarArg{}, extraVars...), f.vars.args...), errs: f.vars.errs}
	}
	rb, diags := loadRunbook(e, s.target, loadOptions{vars: vars, planTime: s.clock.Now()})
	if answers, asked, err := promptMissing(e, rb, diags); err != nil {
		fmt.Fprintf(e.stderr, "Error: %v\n", err)
		return false
	} else if asked {
		vars = &varFlags{args: append(append([]lang.VarArg{}, vars.args...), answers...), errs: vars.errs}
		rb, diags = loadRunbook(e, s.target, loadOptions{vars: vars, planTime: s.clock.Now()})
	}
	s.rb = rb
	return !printDiags(e, rb.Files, diags)
}

// setUp finds the runbook's backend and key and, on the simulated stamp,
// the files the runbook expects the operator to have made; it returns
// false after saying what went wrong.
func (s *session) setUp() bool {
	e, rb := s.e, s.rb
	remote, err := checkBackend(e, rb, s.target)
	if err != nil {
		fmt.Fprintf(e.stderr, "Error: %v\n", err)
		return false
	}
	s.remote = remote
	if s.key, err = s.runbookKey(); err != nil {
		fmt.Fprintf(e.stderr, "runbook: %v\n", err)
		return false
	}
	if s.sim == nil {
		return true
	}
	if err := s.sim.ensurePFX(e, rb); err != nil {
		fmt.Fprintf(e.stderr, "runbook: %v\n", err)
		return false
	}
	if err := s.sim.prepareShares(e, rb); err != nil {
		fmt.Fprintf(e.stderr, "runbook: %v\n", err)
		return false
	}
	s.served = s.sim.served()
	return true
}

// connect sets up the hub and PEP sources the step types use, redirected
// to the simulated stamp under -simulate. Nothing is dialled yet.
func (s *session) connect() {
	opts := steps.ConnOptions{Clock: s.clock, Logger: s.logger()}
	if s.sim != nil {
		s.sim.redirect(&opts)
	}
	s.hubs = steps.NewConns(s.rb, opts)
	s.peps = s.hubs
	if s.sim == nil {
		return
	}
	redirect := s.sim.pepTarget().Override()
	s.peps = steps.NewPEPDialer(s.rb, steps.PEPOptions{
		Clock:  s.clock,
		Logger: steps.PrintfLogger(opts.Logger),
		Override: func(name string, cfg *pep.Config) {
			redirect(name, cfg)
			// The receive timeout detects a dead connection to a real
			// PEP. On the in-process simulated stamp, whose clock skips
			// ahead while the PEP works, a reply still in transit on a
			// busy machine could pass for lost; the step's own timeout
			// still bounds the wait.
			cfg.ReceiveTimeout = -1
		},
	})
}

// logger returns the clients' logger: RUNBOOK_LOG names a file (created
// 0600, appended to) that receives every request line and warning of the
// Hub and PEP clients. They never log secrets, bodies or credentials.
func (s *session) logger() hub.Logger {
	path := s.e.getenv("RUNBOOK_LOG")
	if path == "" {
		return nil
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		fmt.Fprintf(s.e.stderr, "Warning: RUNBOOK_LOG: %v; logging nothing\n", err)
		return nil
	}
	s.logFile = f
	var mu sync.Mutex
	return func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(f, "%s %s\n", s.clock.Now().UTC().Format(time.RFC3339Nano), fmt.Sprintf(format, args...))
	}
}

func (s *session) close() {
	if s.logFile != nil {
		defer s.logFile.Close()
	}
	if s.hubs != nil {
		s.hubs.Close()
	}
	if s.sim != nil {
		s.sim.close()
	}
}

// registry returns the step types connected to the session's hubs and
// PEPs.
func (s *session) registry() *executor.Registry {
	return steps.Registry(s.hubs, s.peps, s.served)
}

// stepKey keys the fingerprints that steps journal, which later plans
// compare: stable across plans, unlike the plan's own keys.
func (s *session) stepKey() []byte { return state.StepKey(s.key) }

// planKey keys the MAC of one saved plan.
func planKey(key []byte, planID string) []byte { return state.PlanKey(key, planID) }

// plan runs the planner.
func (s *session) plan(ctx context.Context) (*executor.Planned, hcl.Diagnostics) {
	history, err := s.history()
	if err != nil {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read the runbook's state", Detail: err.Error()}}
	}
	stepKey := s.stepKey()
	p, diags := executor.Plan(ctx, executor.PlanOptions{
		Runbook:     s.rb,
		Registry:    s.registry(),
		Clock:       s.clock,
		Key:         stepKey,
		Targets:     s.flags.targets,
		Parallelism: s.flags.parallelism,
		History:     history,
		Window:      s.flags.window,
		ToolVersion: toolVersion(),
		Dir:         filepath.ToSlash(s.target),
	})
	if p != nil && s.remote != nil {
		p.Plan.Runbook.Backend = s.remote.String()
	}
	if p != nil && (!diags.HasErrors() || len(p.FailedChecks()) > 0) {
		s.expiryWarnings(ctx, p.Plan)
	}
	return p, diags
}

// history returns what the runbook's state records about each step: its
// last successful result, and whether the last run left it running. It
// reads the state document and at most the journals of runs not settled
// into it, whatever the number of past runs.
func (s *session) history() (func(addrs.Step) *state.History, error) {
	h, err := state.LoadHistory(s.e.ctx, s.backend())
	if err != nil {
		return nil, fmt.Errorf("read the history of the runbook's steps from %s: %w", s.backend(), err)
	}
	return h.Of, nil
}

// fingerprint returns the step-keyed fingerprint function.
func (s *session) fingerprint() func([]byte) string {
	key := s.stepKey()
	return func(b []byte) string { return executor.Fingerprint(key, b) }
}
