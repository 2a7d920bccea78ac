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
	"time"

	"github.com/runbook-dev/runbook/executor"
	"github.com/runbook-dev/runbook/executor/journal"
	"github.com/runbook-dev/runbook/executor/lock"
	"github.com/runbook-dev/runbook/executor/plan"
	"github.com/runbook-dev/runbook/executor/render"
	"github.com/runbook-dev/runbook/internal/boundedread"
	"github.com/runbook-dev/runbook/lang"
	"github.com/runbook-dev/runbook/state"
	"github.com/runbook-dev/runbook/state/local"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

func runApply(e *env, args []string) int {
	fs := newFlagSet(e, "apply", "[DIR | FILE | PLANFILE]",
		"Apply a runbook: plan it, show the plan and ask for approval, then run it inside\n"+
			"the change window with a journal of every step. Given a saved plan, apply checks\n"+
			"it (hashes, expiry, not yet applied, stamp unchanged) and runs exactly that plan.")
	var f planFlags
	f.register(fs)
	autoApprove := fs.Bool("auto-approve", false, "Apply without asking for approval")
	onFailure := fs.String("on-failure", "stop", "After a failed step: `stop` starting new steps, or continue with independent ones")
	asJSON := fs.Bool("json", false, "Stream progress events as JSON lines")
	ignoreWindow := fs.String("ignore-window", "", "Run outside the change window, for this `reason` (recorded in the journal)")
	resumeID := fs.String("resume", "", "Resume the unfinished run `id`")
	fresh := fs.Bool("new", false, "Start a new run even if the last one did not finish")
	if code, ok := parseFlags(fs, e, args); !ok {
		return code
	}
	if *asJSON {
		// The stream's first line says which version of it this is.
		writeEvent(e.stdout, newVersionEvent(clockFor().Now()))
	}
	if fs.NArg() > 1 {
		fmt.Fprintln(e.stderr, "runbook apply: too many arguments")
		return exitUsage
	}
	if *onFailure != "stop" && *onFailure != "continue" {
		fmt.Fprintf(e.stderr, "runbook apply: -on-failure is stop or continue, not %q\n", *onFailure)
		return exitUsage
	}
	if isSet(fs, "ignore-window") && strings.TrimSpace(*ignoreWindow) == "" {
		fmt.Fprintln(e.stderr, "runbook apply: -ignore-window needs a reason, e.g. -ignore-window \"emergency change CHG0042\"")
		return exitUsage
	}

	target := fs.Arg(0)
	var saved *plan.Plan
	var savedPath string
	if isPlanFile(target) {
		savedPath = target
		p, err := readPlan(target)
		if err != nil {
			fmt.Fprintf(e.stderr, "Error: %v\n", err)
			return exitError
		}
		saved = p
		target = filepath.FromSlash(p.Runbook.Dir)
		f.targets = p.Targets
	}

	var extra []lang.VarArg
	if saved != nil {
		// The plan's non-sensitive inputs are applied as they were planned;
		// sensitive ones must be given again and are checked below.
		for _, in := range saved.Inputs {
			if !in.Sensitive && in.Value != cty.NilVal && in.Source != "default" {
				b, err := ctyjson.SimpleJSONValue{Value: in.Value}.MarshalJSON()
				if err == nil {
					extra = append(extra, lang.VarArg{File: "(plan " + saved.ID + ")", Src: []byte(in.Name + " = " + string(jsonToHCL(b)) + "\n")})
				}
			}
		}
	}
	s, ok := openSession(e, target, &f, extra)
	if !ok {
		return exitError
	}
	defer s.close()
	s.autoApproved = *autoApprove
	s.json = *asJSON
	if saved != nil {
		if err := s.checkSaved(saved); err != nil {
			fmt.Fprintf(e.stderr, "Error: %v\n", err)
			return exitError
		}
	}

	// Lock every hub and PEP of the runbook before reading their state, so
	// that two applies never plan or act on one stamp at once.
	lk, err := s.lock()
	if err != nil {
		fmt.Fprintf(e.stderr, "Error: %v\n", err)
		return exitError
	}
	defer lk.Release()

	// Resume: an unfinished last run is continued, not repeated.
	prior, code, ok := s.findPrior(*resumeID, *fresh)
	if !ok {
		return code
	}

	planned, diags := s.plan(e.ctx)
	if diags.HasErrors() && planned != nil && len(planned.FailedChecks()) > 0 && !*asJSON {
		render.Text(e.stdout, planned.Plan, render.Options{Color: e.color(e.stdoutTTY)})
	}
	if printDiags(e, s.rb.Files, diags) {
		s.simulateHint(diags)
		return exitError
	}
	if saved != nil {
		if err := samePlan(saved, planned.Plan); err != nil {
			fmt.Fprintf(e.stderr, "Error: the stamp changed since plan %s was made: %v. Make a new plan and review it.\n", saved.ID, err)
			return exitError
		}
	}
	if !*asJSON {
		render.Text(e.stdout, planned.Plan, render.Options{Color: e.color(e.stdoutTTY)})
		fmt.Fprintln(e.stdout)
	}
	if !planned.HasChanges() && prior == nil {
		if *asJSON {
			writeEvent(e.stdout, runEndedEvent{Type: "run_ended", Time: s.clock.Now().UTC(), Status: "no_changes", Steps: map[string]string{}})
			return exitOK
		}
		fmt.Fprintln(e.stdout, "Apply complete: nothing to do.")
		return exitOK
	}
	if saved == nil && !*autoApprove {
		if !e.stdinTTY {
			fmt.Fprintln(e.stderr, "Error: apply needs approval: run it on a terminal to answer, or pass -auto-approve (or apply a reviewed plan file).")
			return exitError
		}
		// With -json, stdout is the event stream: the question goes to
		// stderr.
		ask := e.stdout
		if *asJSON {
			ask = e.stderr
		}
		fmt.Fprint(ask, "Do you want to apply this plan? Only 'yes' will be accepted: ")
		line, err := readAnswer(e.ctx, e.stdin)
		if errors.Is(err, errInterrupted) {
			fmt.Fprintln(ask)
			fmt.Fprintln(e.stderr, "Apply cancelled: interrupted.")
			return exitError
		}
		if strings.TrimSpace(string(line)) != "yes" {
			fmt.Fprintln(ask, "Apply cancelled.")
			return exitError
		}
	}

	// Change window.
	var window *lang.Window
	if len(s.rb.Windows) > 0 && *ignoreWindow == "" {
		w, wdiags := executor.ChooseWindow(s.rb, f.window, s.clock.Now())
		if printDiags(e, s.rb.Files, wdiags) {
			return exitError
		}
		window = w
	}

	if saved != nil {
		if err := s.state.consume(saved.ID); err != nil {
			fmt.Fprintf(e.stderr, "Error: %v\n", err)
			return exitError
		}
	}

	j, runID, err := s.openJournal(prior, planned, savedPath, *ignoreWindow)
	if err != nil {
		fmt.Fprintf(e.stderr, "Error: the journal cannot be written, so nothing was applied: %v\n", err)
		return exitError
	}

	// Two stages once steps run: the first signal starts nothing new and
	// lets running steps reach a safe point; the second detaches at once.
	stop := make(chan struct{})
	ctx, detach := context.WithCancel(e.ctx)
	defer detach()
	progress := newProgress(e, *asJSON, s.clock)
	var stage int
	restore := e.onSignal(func(os.Signal) bool {
		stage++
		switch stage {
		case 1:
			progress.note("Interrupt received: no new step will start; running steps go on to a safe point. Press Ctrl-C again to detach at once.")
			j.Append(journal.Record{Type: journal.Note, Reason: "interrupt: no new step starts"})
			close(stop)
			return true
		case 2:
			progress.note("Second interrupt: detaching now. Remote operations already started keep running on the stamp.")
			j.Append(journal.Record{Type: journal.Note, Reason: "second interrupt: detaching from running steps"})
			detach()
			return true
		}
		return false
	})
	defer restore()

	every := time.Minute
	if s.sim != nil {
		// The simulated clock skips ahead: a line every half hour of its
		// time is a few a second of wall time.
		every = 30 * time.Minute
	}
	res := executor.Apply(ctx, executor.ApplyOptions{
		StillRunningEvery: every,
		Runbook:           s.rb, Planned: planned, Registry: s.registry(), Clock: s.clock,
		Journal: j, Parallelism: f.parallelism, ContinueOnFailure: *onFailure == "continue",
		Window: window, Prior: prior, Events: progress.event, Stop: stop, Fingerprint: s.fingerprint(),
	})
	jerr := j.Close()
	if jerr == nil {
		jerr = s.recordHead(runID, j)
	}
	progress.close()
	return s.report(res, runID, jerr, *asJSON)
}

// recordHead keeps the closed journal's head (its record count and last
// hash) in the state document beside the runbook, where `runs` and `runs
// show` check it: a hash chain alone cannot tell a journal whose last
// records were deleted from a shorter one, the head can. It is recorded
// even after an interrupt.
func (s *session) recordHead(run string, j *journal.Journal) error {
	seq, hash := j.Head()
	_, err := state.Update(context.WithoutCancel(s.e.ctx), local.New(s.state.root), func(d *state.Document) error {
		d.SetHead(run, state.RunHead{Records: seq, Hash: hash})
		return nil
	})
	if err != nil {
		return fmt.Errorf("record the journal's head: %w", err)
	}
	return nil
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

// checkSaved verifies a saved plan against the runbook as it is now.
func (s *session) checkSaved(p *plan.Plan) error {
	now := s.clock.Now()
	if now.After(p.ExpiresAt) {
		return fmt.Errorf("plan %s expired at %s; make a new plan", p.ID, p.ExpiresAt.UTC().Format(time.RFC3339))
	}
	if s.state.consumed(p.ID) {
		return fmt.Errorf("plan %s was applied already; a plan is applied once: make a new one", p.ID)
	}
	files := map[string]string{}
	for _, name := range s.rb.FileNames {
		files[name] = sha256Hex(s.rb.Files[name].Bytes)
	}
	for _, f := range p.Runbook.Files {
		got, ok := files[f.Name]
		switch {
		case !ok:
			return fmt.Errorf("%s was part of the plan but is gone; make a new plan", f.Name)
		case got != f.SHA256:
			return fmt.Errorf("%s changed since the plan was made; make a new plan", f.Name)
		}
		delete(files, f.Name)
	}
	for name := range files {
		return fmt.Errorf("%s is new since the plan was made; make a new plan", name)
	}
	now2 := executor.Inputs(s.rb, s.stepKey(), p.ID)
	byName := map[string]plan.Input{}
	for _, in := range now2 {
		byName[in.Name] = in
	}
	for _, in := range p.Inputs {
		cur, ok := byName[in.Name]
		if !ok {
			return fmt.Errorf("variable %q was part of the plan but is no longer declared", in.Name)
		}
		if in.Sensitive {
			if cur.Fingerprint != in.Fingerprint {
				return fmt.Errorf("the value of sensitive variable %q differs from the one planned; give the same value (it is compared by fingerprint) or make a new plan", in.Name)
			}
			continue
		}
		if in.Value != cty.NilVal && cur.Value != cty.NilVal && !in.Value.RawEquals(cur.Value) {
			return fmt.Errorf("the value of variable %q differs from the one planned", in.Name)
		}
	}
	return nil
}

// samePlan checks that a fresh plan proposes what the saved one did.
func samePlan(saved, fresh *plan.Plan) error {
	if len(saved.Changes) != len(fresh.Changes) {
		return fmt.Errorf("it now has %d steps, the plan %d", len(fresh.Changes), len(saved.Changes))
	}
	for _, c := range saved.Changes {
		f := fresh.Change(c.Address)
		switch {
		case f == nil:
			return fmt.Errorf("%s is no longer in the runbook", c.Address)
		case f.Action != c.Action:
			return fmt.Errorf("%s would now %s (%c), the plan said %s (%c)", c.Address, f.Action, rune(f.Action), c.Action, rune(c.Action))
		case f.Remote != c.Remote:
			return fmt.Errorf("%s: the stamp's state is not what the plan read", c.Address)
		case !sameMap(f.Fingerprints, c.Fingerprints):
			return fmt.Errorf("%s: its inputs (files or secrets) changed since the plan", c.Address)
		}
	}
	return nil
}

func sameMap(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// findPrior returns the run to resume: -resume ID, or the last run if it
// did not finish (unless -new).
func (s *session) findPrior(id string, fresh bool) (*journal.Run, int, bool) {
	runs, err := s.journals()
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(s.e.stderr, "Error: reading the journals: %v\n", err)
		return nil, exitError, false
	}
	if id != "" {
		for _, r := range runs {
			if r.ID == id {
				run, err := s.journal(r.Path)
				if err != nil {
					fmt.Fprintf(s.e.stderr, "Error: run %s cannot be resumed: %v\n", id, err)
					return nil, exitError, false
				}
				fmt.Fprintf(s.msgOut(), "Resuming run %s (%s): finished steps are not repeated; steps that were running are re-attached.\n\n", run.ID, orDash(string(r.Status)))
				return run, 0, true
			}
		}
		fmt.Fprintf(s.e.stderr, "Error: no run %s under %s\n", id, s.state.runs())
		return nil, exitError, false
	}
	if fresh || len(runs) == 0 {
		return nil, 0, true
	}
	last := runs[len(runs)-1]
	if last.Status != journal.RunUnfinished && last.Status != journal.RunStopped {
		return nil, 0, true
	}
	run, err := s.journal(last.Path)
	if err != nil {
		fmt.Fprintf(s.e.stderr, "Error: the last run %s did not finish and its journal cannot be trusted: %v\nInspect it with '%s'; start a new run with -new once the stamp's state is known.\n", last.ID, err, commandLine("runs", "show", last.ID, s.dirArg()))
		return nil, exitError, false
	}
	fmt.Fprintf(s.msgOut(), "Resuming run %s, which did not finish (%s): finished steps are not repeated; steps that were running are re-attached.\n\n", run.ID, orDash(string(last.Status)))
	return run, 0, true
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// lock takes the lock of every hub and pep the runbook declares, by
// endpoint, so that two runbooks naming the same stamp differently still
// exclude each other.
func (s *session) lock() (*lock.Lock, error) {
	// The runbook itself is a target too: two applies of one runbook never
	// overlap, even one with no hub or pep (only wait steps).
	dir, err := filepath.Abs(s.rb.Dir)
	if err != nil {
		dir = s.rb.Dir
	}
	targets := []string{lock.Target("runbook", dir)}
	for _, h := range s.rb.Hubs {
		targets = append(targets, lock.Target("hub", h.Endpoint))
	}
	for _, p := range s.rb.PEPs {
		targets = append(targets, lock.Target("pep", strings.Join(p.Addresses, ",")))
	}
	return lock.Acquire(s.state.locks(), targets, lock.CurrentProcess(s.clock.Now(), ""))
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
		j, err = journal.Open(prior.Path, s.clock)
		if err != nil {
			return nil, "", err
		}
		err = j.Append(journal.Record{Type: journal.RunResumed, PlanID: p.ID, PlanHash: planHash, User: u, Host: host, ToolVersion: toolVersion()})
	} else {
		id := newRunID(s.clock.Now())
		j, err = journal.Create(s.state.runs(), id, s.clock)
		if err != nil {
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
	fmt.Fprintf(e.stdout, "Journal: %s\n", filepath.Join(s.state.runs(), runID+".jsonl"))
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

// jsonToHCL turns a JSON value into the HCL expression of the same value:
// HCL's object syntax accepts JSON's, but HCL interpolates "${" and "%{" in
// strings, so those are escaped.
func jsonToHCL(b []byte) []byte {
	b = bytes.ReplaceAll(b, []byte("${"), []byte("$${"))
	return bytes.ReplaceAll(b, []byte("%{"), []byte("%%{"))
}
