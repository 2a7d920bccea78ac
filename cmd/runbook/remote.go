package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/runbook-dev/runbook/executor/journal"
	"github.com/runbook-dev/runbook/executor/lock"
	"github.com/runbook-dev/runbook/executor/plan"
	"github.com/runbook-dev/runbook/internal/boundedread"
	"github.com/runbook-dev/runbook/lang"
	"github.com/runbook-dev/runbook/state"
	"github.com/runbook-dev/runbook/state/azurerm"
	"github.com/runbook-dev/runbook/state/local"
)

// This file holds what plan and apply do differently when the runbook
// keeps its state in a shared backend (runbook { backend "azurerm" { … } }):
// the key, the journals, the locks and the consumed plans live there, so
// that a plan made on one machine applies on another.

// runbookKey returns the key that MACs saved plans and keys fingerprints:
// the shared backend's, or the local .runbook directory's.
func (s *session) runbookKey() ([]byte, error) {
	return s.backend().Key(s.e.ctx)
}

// backend is where the runbook's state lives: the shared backend, or the
// local .runbook directory.
func (s *session) backend() state.Backend {
	if s.remote != nil {
		return s.remote
	}
	return local.New(s.state.root)
}

// backendName names where the state lives, for messages and plans ("" is
// the local directory).
func (s *session) backendName() string {
	if s.remote != nil {
		return s.remote.String()
	}
	return ""
}

// createJournal starts the journal of a new run where the state lives.
func (s *session) createJournal(id string) (*journal.Journal, error) {
	return s.backend().CreateJournal(s.e.ctx, id, s.clock)
}

// continueJournal continues the journal of the run being resumed.
func (s *session) continueJournal(id string) (*journal.Journal, error) {
	return s.backend().OpenJournal(s.e.ctx, id, s.clock)
}

// leaseRenewEvery is how often a shared backend's lease is renewed; zero
// is state.RenewEvery. Only the test binary changes it
// (RUNBOOK_TEST_RENEW_EVERY), so that a script sees a broken lease noticed
// within a moment instead of 15 seconds.
var leaseRenewEvery time.Duration

// journalSegmentBlocks is how many append blocks a shared backend's
// journal segment takes before the journal rolls over to the next; zero is
// the service's limit (50,000). Only the test binary changes it
// (RUNBOOK_TEST_SEGMENT_BLOCKS), so that a script sees a journal roll over
// after a few records.
var journalSegmentBlocks int

// lockNames returns the names of the locks an apply of rb takes, in
// state.Locks order: the runbook's own, then one per hub and PEP by
// endpoint, so that two runbooks naming one stamp differently still
// exclude each other. force-unlock -run looks for a run's locks among
// them.
func lockNames(rb *lang.Runbook) []string {
	var targets []string
	for _, h := range rb.Hubs {
		targets = append(targets, lock.Target("hub", h.Endpoint))
	}
	for _, p := range rb.PEPs {
		targets = append(targets, lock.Target("pep", strings.Join(p.Addresses, ",")))
	}
	return state.Locks(targets)
}

// takeLocks takes the locks of the runbook and of every hub and PEP it
// declares where its state lives (state.Backend.Lock: leases in a shared
// backend, flocks in the local .runbook directory), in state.Locks order,
// without waiting: a lock held elsewhere fails naming its holder, and for
// a shared backend the command that breaks every lock of the holder's
// run (a local lock ends only with its process). The leases are kept in
// the session; release gives them up.
func (s *session) takeLocks() (release func(), err error) {
	release = func() {
		for i := len(s.leases) - 1; i >= 0; i-- {
			s.leases[i].Release(context.WithoutCancel(s.e.ctx))
		}
		s.leases = nil
	}
	// The holder names the run this apply will start, so that an apply
	// refused elsewhere can say whose run holds the lock.
	s.newRun = newRunID(s.clock.Now())
	holder := lock.CurrentProcess(s.clock.Now(), s.newRun)
	b := s.backend()
	for _, name := range lockNames(s.rb) {
		l, err := b.Lock(s.e.ctx, name, holder)
		if err != nil {
			release()
			var held *azurerm.HeldError
			if errors.As(err, &held) {
				err = fmt.Errorf("%w\n%s", err, s.unlockHint(held.HeldError))
			}
			return nil, err
		}
		s.leases = append(s.leases, l)
	}
	return release, nil
}

// lockRun makes every lock the apply holds name the run it resumes, which
// is found only under the locks: until then they name the new run the
// apply drew. With no run to resume they keep naming the new one.
func (s *session) lockRun(prior *journal.Run) error {
	if prior == nil {
		return nil
	}
	for _, l := range s.leases {
		if err := l.SetRun(s.e.ctx, prior.ID); err != nil {
			return fmt.Errorf("the lock %s cannot name the resumed run %s, so nothing was applied: %w", l.Name(), prior.ID, err)
		}
	}
	return nil
}

// unlockHint says how to break the locks of a holder that no longer
// runs: every lock its run holds with one command, or the one lock met
// when the holder names no run.
func (s *session) unlockHint(held *lock.HeldError) string {
	const dead = "If that apply no longer runs (a killed process, a lost machine), "
	if held.Run != "" {
		return dead + "break every lock its run holds with:\n  " + commandLine("force-unlock", "-force", "-run", held.Run, s.dirArg())
	}
	return dead + "break its lock with:\n  " + commandLine("force-unlock", "-force", held.Target, s.dirArg())
}

// watchLeases calls lost once, with the reason, if any lease the apply
// holds is lost before done is closed.
func (s *session) watchLeases(done <-chan struct{}, lost func(name string, err error)) {
	var once sync.Once
	for _, l := range s.leases {
		go func() {
			select {
			case <-l.Lost():
				once.Do(func() { lost(l.Name(), l.Err()) })
			case <-done:
			}
		}()
	}
}

// readSavedPlan reads and verifies the saved plan at path and returns it
// with the runbook directory to apply it to: dirArg when given, else the
// directory the plan was made in. A plan made against a shared backend is
// verified with that backend's key, and refused if the runbook there
// keeps its state elsewhere.
func readSavedPlan(e *env, path, dirArg string) (*plan.Plan, string, error) {
	data, err := boundedread.File(path, boundedread.Source)
	if err != nil {
		return nil, "", fmt.Errorf("read the plan: %w", err)
	}
	id, err := plan.PeekID(data)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", path, err)
	}
	dir, backend, err := plan.PeekRunbook(data)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", path, err)
	}
	target := filepath.FromSlash(dir)
	if dirArg != "" {
		target = dirArg
	}
	if backend == "" {
		p, err := decodePlan(e, path, data, id, target)
		return p, target, err
	}
	rb, diags := loadRunbook(e, target, loadOptions{validate: true, planTime: clockFor().Now()})
	if diags.HasErrors() {
		printDiags(e, rb.Files, diags)
		return nil, "", fmt.Errorf("%s: the runbook in %s cannot be loaded", path, dirOf(target))
	}
	b, err := checkBackend(e, rb, target)
	if err != nil {
		return nil, "", err
	}
	if b == nil || b.String() != backend {
		where := "the local .runbook directory"
		if b != nil {
			where = b.String()
		}
		return nil, "", fmt.Errorf("%s was made against %s, but the runbook in %s keeps its state in %s: make a new plan there", path, backend, dirOf(target), where)
	}
	key, err := b.Key(e.ctx)
	if err != nil {
		return nil, "", err
	}
	var head struct {
		KeyID string `json:"key_id"`
	}
	if json.Unmarshal(data, &head) == nil && head.KeyID != plan.KeyID(planKey(key, id)) {
		return nil, "", fmt.Errorf("%s was not made with the key of %s (%s): it cannot be verified: make a new plan", path, backend, stateKeyEnv)
	}
	p, err := plan.Decode(data, planKey(key, id))
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", path, err)
	}
	return p, target, nil
}

// consumed reports whether the saved plan was applied already, in the
// backend where the state lives.
func (s *session) consumed(planID string) (bool, error) {
	return s.backend().PlanConsumed(s.e.ctx, planID)
}

// consume marks the saved plan applied, once.
func (s *session) consume(planID string) error {
	err := s.backend().ConsumePlan(s.e.ctx, planID)
	if errors.Is(err, state.ErrConsumed) {
		return fmt.Errorf("plan %s was applied already; a plan is applied once: make a new one", planID)
	}
	return err
}
