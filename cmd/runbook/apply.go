package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/runbook-dev/runbook/executor"
	"github.com/runbook-dev/runbook/executor/journal"
	"github.com/runbook-dev/runbook/executor/plan"
	"github.com/runbook-dev/runbook/executor/render"
	"github.com/runbook-dev/runbook/internal/boundedread"
	"github.com/runbook-dev/runbook/lang"
	"github.com/runbook-dev/runbook/state"
	"github.com/zclconf/go-cty/cty"
)

// applyFlags are apply's options.
type applyFlags struct {
	planFlags
	fs                                *flag.FlagSet
	autoApprove, asJSON, fresh        bool
	onFailure, ignoreWindow, resumeID string
}

// savedPlan is a reviewed plan apply was given, and where it was read.
type savedPlan struct {
	plan *plan.Plan
	path string
}

func runApply(e *env, args []string) int {
	a, code, ok := parseApply(e, args)
	if !ok {
		return code
	}
	target := a.fs.Arg(0)
	var saved *savedPlan
	if isPlanFile(target) {
		p, dir, err := readSavedPlan(e, target, a.fs.Arg(1))
		if err != nil {
			fmt.Fprintf(e.stderr, "Error: %v\n", err)
			return exitError
		}
		saved = &savedPlan{plan: p, path: target}
		target = dir
		a.targets = p.Targets
	}
	s, ok := openSession(e, target, &a.planFlags, saved.inputs())
	if !ok {
		return exitError
	}
	defer s.close()
	s.autoApproved = a.autoApprove
	s.json = a.asJSON
	return s.apply(a, saved)
}

// parseApply parses apply's flags and checks their values.
func parseApply(e *env, args []string) (*applyFlags, int, bool) {
	fs := newFlagSet(e, "apply", "[DIR | FILE | PLANFILE [DIR]]",
		"Apply a runbook: plan it, show the plan and ask for approval, then run it inside\n"+
			"the change window with a journal of every step. Given a saved plan, apply checks\n"+
			"it (hashes, expiry, not yet applied, stamp unchanged) and runs exactly that plan.")
	a := &applyFlags{}
	a.register(fs)
	fs.BoolVar(&a.autoApprove, "auto-approve", false, "Apply without asking for approval")
	fs.StringVar(&a.onFailure, "on-failure", "stop", "After a failed step: `stop` starting new steps, or continue with independent ones")
	fs.BoolVar(&a.asJSON, "json", false, "Stream progress events as JSON lines")
	fs.StringVar(&a.ignoreWindow, "ignore-window", "", "Run outside the change window, for this `reason` (recorded in the journal)")
	fs.StringVar(&a.resumeID, "resume", "", "Resume the unfinished run `id`")
	fs.BoolVar(&a.fresh, "new", false, "Start a new run even if the last one did not finish")
	a.fs = fs
	if code, ok := parseFlags(fs, e, args); !ok {
		return nil, code, false
	}
	if a.asJSON {
		// The stream's first line says which version of it this is.
		writeEvent(e.stdout, newVersionEvent(clockFor().Now()))
	}
	switch {
	case fs.NArg() > 2 || fs.NArg() == 2 && !isPlanFile(fs.Arg(0)):
		fmt.Fprintln(e.stderr, "runbook apply: too many arguments")
	case a.onFailure != "stop" && a.onFailure != "continue":
		fmt.Fprintf(e.stderr, "runbook apply: -on-failure is stop or continue, not %q\n", a.onFailure)
	case isSet(fs, "ignore-window") && strings.TrimSpace(a.ignoreWindow) == "":
		fmt.Fprintln(e.stderr, "runbook apply: -ignore-window needs a reason, e.g. -ignore-window \"emergency change CHG0042\"")
	default:
		return a, exitOK, true
	}
	return nil, exitUsage, false
}

// inputs returns the plan's non-sensitive inputs, to be applied as they
// were planned (resolved values, not parsed again); sensitive ones must be
// given again and are checked against the plan's fingerprints.
func (sp *savedPlan) inputs() []lang.VarArg {
	if sp == nil {
		return nil
	}
	var vars []lang.VarArg
	for _, in := range sp.plan.Inputs {
		if !in.Sensitive && in.Value != cty.NilVal && in.Source != "default" {
			vars = append(vars, lang.VarArg{Name: in.Name, Resolved: in.Value, Source: "(plan " + sp.plan.ID + ")"})
		}
	}
	return vars
}

// apply checks a saved plan, plans under the stamps' locks, asks for
// approval and runs the steps.
func (s *session) apply(a *applyFlags, saved *savedPlan) int {
	if saved != nil {
		if err := s.checkSaved(saved.plan); err != nil {
			fmt.Fprintf(s.e.stderr, "Error: %v\n", err)
			return exitError
		}
	}
	// Lock every hub and PEP of the runbook before reading their state, so
	// that two applies never plan or act on one stamp at once.
	release, err := s.takeLocks()
	if err != nil {
		fmt.Fprintf(s.e.stderr, "Error: %v\n", err)
		return exitError
	}
	defer release()
	// Under the lock, the state document is brought up to date (runs of
	// an older runbook indexed, superseded runs settled) and names the run
	// to resume: an unfinished last run is continued, not repeated.
	doc, err := state.Index(s.e.ctx, s.backend())
	if err != nil {
		fmt.Fprintf(s.e.stderr, "Error: %v\n", err)
		return exitError
	}
	prior, code, ok := s.findPrior(doc, a.resumeID, a.fresh)
	if !ok {
		return code
	}
	if err := s.lockRun(prior); err != nil {
		fmt.Fprintf(s.e.stderr, "Error: %v\n", err)
		return exitError
	}
	planned, ok := s.prepare(a, saved)
	if !ok {
		return exitError
	}
	if !planned.HasChanges() && prior == nil {
		if a.asJSON {
			writeEvent(s.e.stdout, runEndedEvent{Type: "run_ended", Time: s.clock.Now().UTC(), Status: "no_changes", Steps: map[string]string{}})
			return exitOK
		}
		fmt.Fprintln(s.e.stdout, "Apply complete: nothing to do.")
		return exitOK
	}
	if saved == nil && !a.autoApprove && !s.approve(a.asJSON) {
		return exitError
	}
	window, ok := s.applyWindow(a)
	if !ok {
		return exitError
	}
	if saved != nil {
		if err := s.consume(saved.plan.ID); err != nil {
			fmt.Fprintf(s.e.stderr, "Error: %v\n", err)
			return exitError
		}
	}
	return s.run(a, prior, planned, saved.filePath(), window)
}

// filePath is the saved plan's path, "" for none.
func (sp *savedPlan) filePath() string {
	if sp == nil {
		return ""
	}
	return sp.path
}

// prepare plans the runbook, checks that a saved plan still says the same,
// and shows the plan.
func (s *session) prepare(a *applyFlags, saved *savedPlan) (*executor.Planned, bool) {
	e := s.e
	planned, diags := s.plan(e.ctx)
	if diags.HasErrors() && planned != nil && len(planned.FailedChecks()) > 0 && !a.asJSON {
		render.Text(e.stdout, planned.Plan, render.Options{Color: e.color(e.stdoutTTY)})
	}
	if printDiags(e, s.rb.Files, diags) {
		s.simulateHint(diags)
		return nil, false
	}
	if saved != nil {
		if err := plan.Verify(saved.plan, planned.Plan); err != nil {
			fmt.Fprintf(e.stderr, "Error: the stamp changed since plan %s was made: %v. Make a new plan and review it.\n", saved.plan.ID, err)
			return nil, false
		}
	}
	if !a.asJSON {
		render.Text(e.stdout, planned.Plan, render.Options{Color: e.color(e.stdoutTTY)})
		fmt.Fprintln(e.stdout)
	}
	return planned, true
}

// approve asks the operator on a terminal to approve the plan shown. With
// -json, stdout is the event stream: the question goes to stderr.
func (s *session) approve(asJSON bool) bool {
	e := s.e
	if !e.stdinTTY {
		fmt.Fprintln(e.stderr, "Error: apply needs approval: run it on a terminal to answer, or pass -auto-approve (or apply a reviewed plan file).")
		return false
	}
	ask := e.stdout
	if asJSON {
		ask = e.stderr
	}
	fmt.Fprint(ask, "Do you want to apply this plan? Only 'yes' will be accepted: ")
	line, err := readAnswer(e.ctx, e.stdin)
	if errors.Is(err, errInterrupted) {
		fmt.Fprintln(ask)
		fmt.Fprintln(e.stderr, "Apply cancelled: interrupted.")
		return false
	}
	if strings.TrimSpace(string(line)) != "yes" {
		fmt.Fprintln(ask, "Apply cancelled.")
		return false
	}
	return true
}

// applyWindow returns the change window the run must fit, nil when the
// runbook has none or the operator overrode it.
func (s *session) applyWindow(a *applyFlags) (*lang.Window, bool) {
	if len(s.rb.Windows) == 0 || a.ignoreWindow != "" {
		return nil, true
	}
	w, wdiags := executor.ChooseWindow(s.rb, a.window, s.clock.Now())
	if printDiags(s.e, s.rb.Files, wdiags) {
		return nil, false
	}
	return w, true
}

// run journals and runs the planned steps, and reports how they ended.
func (s *session) run(a *applyFlags, prior *journal.Run, planned *executor.Planned, planFile string, window *lang.Window) int {
	j, runID, err := s.openJournal(prior, planned, planFile, a.ignoreWindow)
	if err != nil {
		fmt.Fprintf(s.e.stderr, "Error: the journal cannot be written, so nothing was applied: %v\n", err)
		return exitError
	}
	stop := make(chan struct{})
	stopOnce := sync.OnceFunc(func() { close(stop) })
	ctx, detach := context.WithCancel(s.e.ctx)
	defer detach()
	progress := newProgress(s.e, a.asJSON, s.clock)
	defer s.e.onSignal(interruptStages(j, progress, stopOnce, detach))()
	done := make(chan struct{})
	defer close(done)
	s.watchLeases(done, func(name string, err error) {
		progress.note(fmt.Sprintf("The lock %s was lost (%v): no new step will start, and running steps detach; resume once the lock is free.", name, err))
		j.Append(journal.Record{Type: journal.Note, Reason: "lock " + name + " lost: no new step starts"})
		stopOnce()
		detach()
	})

	every := time.Minute
	if s.sim != nil {
		// The simulated clock skips ahead: a line every half hour of its
		// time is a few a second of wall time.
		every = 30 * time.Minute
	}
	res := executor.Apply(ctx, executor.ApplyOptions{
		StillRunningEvery: every,
		Runbook:           s.rb, Planned: planned, Registry: s.registry(), Clock: s.clock,
		Journal: j, Parallelism: a.parallelism, ContinueOnFailure: a.onFailure == "continue",
		Window: window, Prior: prior, Events: progress.event, Stop: stop, Fingerprint: s.fingerprint(),
	})
	jerr := j.Close()
	if err := s.finishRecord(res, j, jerr); err != nil {
		// The journal is the record; the document only spares plans
		// from replaying it, which they now do for this run.
		fmt.Fprintf(s.e.stderr, "Warning: %v; plans will read this run from its journal.\n", err)
	}
	progress.close()
	return s.report(res, runID, jerr, a.asJSON)
}

// interruptStages returns the signal handler of a running apply, in two
// stages: the first signal starts nothing new and lets running steps reach
// a safe point; the second detaches at once.
func interruptStages(j *journal.Journal, progress *progress, stop, detach func()) func(os.Signal) bool {
	var stage int
	return func(os.Signal) bool {
		stage++
		switch stage {
		case 1:
			progress.note("Interrupt received: no new step will start; running steps go on to a safe point. Press Ctrl-C again to detach at once.")
			j.Append(journal.Record{Type: journal.Note, Reason: "interrupt: no new step starts"})
			stop()
			return true
		case 2:
			progress.note("Second interrupt: detaching now. Remote operations already started keep running on the stamp.")
			j.Append(journal.Record{Type: journal.Note, Reason: "second interrupt: detaching from running steps"})
			detach()
			return true
		}
		return false
	}
}

// finishRecord brings the state document up to date at the end of a run:
// its status, the closed journal's head (record count and last hash, which
// `runs` and resumes check: a hash chain alone cannot tell a journal whose
// last records were deleted from a shorter one) and its last successes.
// It is recorded even after an interrupt. A journal that could not be
// completed leaves the run's status open.
func (s *session) finishRecord(res *executor.ApplyResult, j *journal.Journal, jerr error) error {
	if s.recorder == nil {
		return nil
	}
	status := journal.RunStatus(res.Status) // succeeded, failed or stopped
	if jerr != nil {
		status = journal.RunUnfinished
	}
	seq, hash := j.Head()
	return s.recorder.Finish(status, seq, hash)
}

// readAnswer reads a line of r with readLine, or gives up when ctx ends (a
// Ctrl-C at a prompt) with the context's cause. The read itself cannot be
// cancelled: it is left to finish in the background, and the command is
// about to return.
func readAnswer(ctx context.Context, r io.Reader) ([]byte, error) {
	type answer struct {
		line []byte
		err  error
	}
	got := make(chan answer, 1)
	go func() {
		line, err := readLine(r)
		got <- answer{line, err}
	}()
	select {
	case a := <-got:
		return a.line, a.err
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}

func isSet(fs *flag.FlagSet, name string) bool {
	found := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			found = true
		}
	})
	return found
}

// isPlanFile reports whether path is a saved plan rather than a runbook.
func isPlanFile(path string) bool {
	info, err := os.Stat(path)
	if err != nil || !info.Mode().IsRegular() || strings.HasSuffix(path, lang.FileSuffix) {
		return false
	}
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, 64)
	n, _ := f.Read(head)
	// Any JSON document is taken for a plan (and refused as one if it is
	// not): a runbook is HCL, and HCL files do not start like JSON values.
	t := bytes.TrimSpace(head[:n])
	return bytes.HasPrefix(t, []byte("{")) || bytes.HasPrefix(t, []byte("[")) || bytes.Equal(t, []byte("null"))
}

// checkSaved verifies that a saved plan may be applied to the runbook as
// it is now: not expired, not applied yet, made from these files and
// inputs.
func (s *session) checkSaved(p *plan.Plan) error {
	if err := plan.CheckExpiry(p, s.clock.Now()); err != nil {
		return err
	}
	if got := s.backendName(); p.Runbook.Backend != got {
		return fmt.Errorf("plan %s was made against %s, but the runbook keeps its state in %s: make a new plan", p.ID, orLocal(p.Runbook.Backend), orLocal(got))
	}
	if used, err := s.consumed(p.ID); err != nil {
		return err
	} else if used {
		return fmt.Errorf("plan %s was applied already; a plan is applied once: make a new one", p.ID)
	}
	return plan.CheckSources(p, executor.RunbookFiles(s.rb), executor.Inputs(s.rb, s.stepKey(), p.ID))
}

// findPrior returns the run to resume: -resume ID, or the latest run if it
// did not end (unless -new). It reads the state document (doc, as the
// apply indexed it) and one journal, however many runs came before.
func (s *session) findPrior(doc *state.Document, id string, fresh bool) (*journal.Run, int, bool) {
	b := s.backend()
	if id != "" {
		if doc.Runs[id].Kind != "" {
			fmt.Fprintf(s.e.stderr, "Error: run %s is the journal of a %s, not of an apply: there is nothing to resume\n", id, doc.Runs[id].Kind)
			return nil, exitError, false
		}
		run, status, err := s.readRun(doc, id)
		if errors.Is(err, state.ErrNotFound) {
			fmt.Fprintf(s.e.stderr, "Error: no run %s in %s\n", id, b)
			return nil, exitError, false
		}
		if err != nil {
			fmt.Fprintf(s.e.stderr, "Error: run %s cannot be resumed: %v\n", id, err)
			return nil, exitError, false
		}
		fmt.Fprintf(s.msgOut(), "Resuming run %s (%s): finished steps are not repeated; steps that were running are re-attached.\n\n", run.ID, orDash(string(status)))
		return run, 0, true
	}
	last, h, ok := doc.Latest()
	if fresh || !ok || h.Ended() {
		return nil, 0, true
	}
	run, status, err := s.readRun(doc, last)
	if errors.Is(err, state.ErrNotFound) {
		return nil, 0, true // registered, but its journal was never created
	}
	if err == nil && status != journal.RunUnfinished && status != journal.RunStopped {
		return nil, 0, true
	}
	if err != nil {
		fmt.Fprintf(s.e.stderr, "Error: the last run %s did not finish and its journal cannot be trusted: %v\nInspect it with '%s'; start a new run with -new once the stamp's state is known.\n", last, err, commandLine("runs", "show", last, s.dirArg()))
		return nil, exitError, false
	}
	fmt.Fprintf(s.msgOut(), "Resuming run %s, which did not finish (%s): finished steps are not repeated; steps that were running are re-attached.\n\n", run.ID, orDash(string(status)))
	return run, 0, true
}

// readRun reads and replays the journal of run id, checked as a chain and
// against the head the state document recorded (a journal cut short or
// rewritten is refused; a torn last line, left by a crash in the middle of
// a local write, is not an error: the resume cuts it off).
func (s *session) readRun(doc *state.Document, id string) (*journal.Run, journal.RunStatus, error) {
	b := s.backend()
	data, err := b.ReadJournal(s.e.ctx, id)
	if err != nil {
		return nil, "", err
	}
	name := b.String() + " run " + id
	run, err := journal.Replay(id, name, data)
	if err != nil {
		return nil, "", err
	}
	if h, ok := doc.Runs[id]; ok {
		if err := journal.CheckHead(name, data, h.Records, h.Hash); err != nil {
			return nil, "", err
		}
	}
	return run, journal.Summarise(id, name, data).Status, nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// orLocal names a backend, "" being the local directory.
func orLocal(backend string) string {
	if backend == "" {
		return "the local .runbook directory"
	}
	return backend
}

// openJournal starts the journal of a new run, or continues the prior one.
func (s *session) openJournal(prior *journal.Run, p *executor.Planned, planFile, ignoreReason string) (*journal.Journal, string, error) {
	u, host := currentUser(), hostname()
	planHash := ""
	if planFile != "" {
		if b, err := boundedread.File(planFile, boundedread.Source); err == nil {
			planHash = sha256Hex(b)
		}
	}
	var j *journal.Journal
	var err error
	if prior != nil {
		if j, err = s.startRecord(prior.ID, state.RunHead{}, s.continueJournal); err != nil {
			return nil, "", err
		}
		err = j.Append(journal.Record{Type: journal.RunResumed, PlanID: p.ID, PlanHash: planHash, User: u, Host: host, ToolVersion: toolVersion()})
	} else {
		id := s.newRun
		if id == "" {
			id = newRunID(s.clock.Now())
		}
		h := state.RunHead{Started: s.clock.Now().UTC(), User: u, Host: host, PlanID: p.ID}
		if j, err = s.startRecord(id, h, s.createJournal); err != nil {
			return nil, "", err
		}
		err = j.Append(journal.Record{Type: journal.RunStarted, Run: id, PlanID: p.ID, PlanHash: planHash, User: u, Host: host, ToolVersion: toolVersion()})
	}
	if err == nil && ignoreReason != "" {
		err = j.Append(journal.Record{Type: journal.Note, Reason: "change window ignored: " + ignoreReason})
	}
	if err != nil {
		j.Close()
		return nil, "", err
	}
	return j, j.Run(), nil
}

// startRecord registers run in the state document (h: a new run's start;
// empty for a resumed one), then opens its journal with open and has the
// journal tell the document of every durable success, so that plans read
// them without replaying journals.
func (s *session) startRecord(run string, h state.RunHead, open func(string) (*journal.Journal, error)) (*journal.Journal, error) {
	rec, err := state.StartRecorder(context.WithoutCancel(s.e.ctx), s.backend(), run, h)
	if err != nil {
		return nil, err
	}
	j, err := open(run)
	if err != nil {
		return nil, err
	}
	j.OnDurable(rec.Durable)
	s.recorder = rec
	return j, nil
}

func newRunID(t time.Time) string {
	b := make([]byte, 3)
	rand.Read(b)
	return t.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
}

func currentUser() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return "unknown"
}

func hostname() string {
	h, err := os.Hostname()
	if err != nil {
		return "unknown"
	}
	return h
}

// report prints the end of an apply and returns the exit code.
func (s *session) report(res *executor.ApplyResult, runID string, jerr error, asJSON bool) int {
	e := s.e
	counts := map[executor.Outcome]int{}
	for _, r := range res.Steps {
		counts[r.Outcome]++
	}
	if asJSON {
		steps := map[string]string{}
		for a, r := range res.Steps {
			steps[a] = snake(string(r.Outcome))
		}
		writeEvent(e.stdout, runEndedEvent{Type: "run_ended", Time: s.clock.Now().UTC(), Run: runID,
			Status: string(res.Status), Stopped: res.Stopped, Steps: steps})
		return exitFor(res)
	}
	fmt.Fprintln(e.stdout)
	for _, o := range []executor.Outcome{executor.OutcomeFailed, executor.OutcomeUnknown, executor.OutcomeSkipped, executor.OutcomeNotStarted, executor.OutcomeDetached} {
		for _, a := range res.Addresses(o) {
			r := res.Steps[a]
			msg := r.Reason
			if r.Err != nil && msg == "" {
				msg = r.Err.Error()
			}
			fmt.Fprintf(e.stdout, "  %s %s: %s\n", a, o, msg)
		}
	}
	fmt.Fprintf(e.stdout, "Apply %s: %d succeeded, %d unchanged, %d failed, %d skipped, %d not started",
		map[bool]string{true: "complete", false: "incomplete"}[res.OK()],
		counts[executor.OutcomeSucceeded], counts[executor.OutcomeUnchanged], counts[executor.OutcomeFailed],
		counts[executor.OutcomeSkipped], counts[executor.OutcomeNotStarted])
	if counts[executor.OutcomeDetached] > 0 {
		fmt.Fprintf(e.stdout, ", %d detached", counts[executor.OutcomeDetached])
	}
	if counts[executor.OutcomeNotTargeted] > 0 {
		fmt.Fprintf(e.stdout, ", %d not targeted", counts[executor.OutcomeNotTargeted])
	}
	if counts[executor.OutcomeUnknown] > 0 {
		fmt.Fprintf(e.stdout, ", %d with an unknown outcome", counts[executor.OutcomeUnknown])
	}
	fmt.Fprintln(e.stdout, ".")
	if res.Stopped != "" && !res.OK() {
		fmt.Fprintf(e.stdout, "The run stopped: %s.\n", res.Stopped)
	}
	if jerr != nil {
		fmt.Fprintf(e.stderr, "Error: the journal could not be completed: %v\n", jerr)
	}
	if s.remote != nil {
		fmt.Fprintf(e.stdout, "Journal: run %s in %s\n", runID, s.remote)
	} else {
		fmt.Fprintf(e.stdout, "Journal: %s\n", filepath.Join(s.state.runs(), runID+".jsonl"))
	}
	if res.Status == journal.Stopped {
		fmt.Fprintf(e.stdout, "To resume: %s\n", commandLine(append(append([]string{"apply"}, s.hintFlags(true)...), "-resume", runID, s.dirArg())...))
		if counts[executor.OutcomeDetached] > 0 {
			fmt.Fprintln(e.stdout, "Detached steps were NOT stopped: their remote operations may still be running on the stamp; resuming re-attaches to them.")
		}
	}
	return exitFor(res)
}

func exitFor(res *executor.ApplyResult) int {
	if res.OK() {
		return exitOK
	}
	return exitError
}
