package main

import (
	"crypto/hmac"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/runbook-dev/runbook/executor/journal"
	"github.com/runbook-dev/runbook/executor/lock"
	"github.com/runbook-dev/runbook/state"
	"github.com/runbook-dev/runbook/state/local"
)

func runState(e *env, args []string) int {
	fs := newFlagSet(e, "state", "list [DIR] | show ADDRESS [DIR] | migrate [DIR]",
		"Inspect and manage the runbook's state: what the history a plan reads says of each step.\n"+
			"  runbook state list [DIR]           every step the history knows: its last success and\n"+
			"                                     whether the latest run left it in flight; then the\n"+
			"                                     backend and the latest run\n"+
			"  runbook state show ADDRESS [DIR]   one step (step.NAME): its last success, the result\n"+
			"                                     that apply journalled (fingerprints, never secrets)\n"+
			"                                     and its handle if it is in flight\n"+
			"  runbook state migrate [DIR]        copy the journals of the local .runbook directory,\n"+
			"                                     their chains verified, into the backend the runbook\n"+
			"                                     configures (runbook { backend \"azurerm\" { ... } })\n"+
			"list and show only read: they take no lock and write nothing.")
	asJSON := fs.Bool("json", false, "With list or show: print a JSON object (docs/state-list.schema.json, docs/state-show.schema.json)")
	if code, ok := parseFlags(fs, e, args); !ok {
		return code
	}
	const usageLine = "runbook state: usage: runbook state list [DIR], runbook state show ADDRESS [DIR] or runbook state migrate [DIR]"
	switch {
	case fs.NArg() >= 1 && fs.NArg() <= 2 && fs.Arg(0) == "list":
		b, _, ok := openBackend(e, fs.Arg(1))
		if !ok {
			return exitError
		}
		return runStateList(e, b, *asJSON)
	case fs.NArg() >= 2 && fs.NArg() <= 3 && fs.Arg(0) == "show":
		return runStateShow(e, fs.Arg(1), fs.Arg(2), *asJSON)
	case fs.NArg() == 0 || fs.Arg(0) != "migrate" || fs.NArg() > 2:
		if fs.NArg() > 0 && !slices.Contains([]string{"list", "show", "migrate"}, fs.Arg(0)) {
			fmt.Fprintf(e.stderr, "runbook state: unknown subcommand %q.%s\n", fs.Arg(0), didYouMean(fs.Arg(0), []string{"list", "show", "migrate"}))
		}
		fmt.Fprintln(e.stderr, usageLine)
		return exitUsage
	case *asJSON:
		fmt.Fprintln(e.stderr, "runbook state: -json is for state list and state show")
		return exitUsage
	}
	dir := fs.Arg(1)
	b, _, ok := openBackend(e, dir)
	if !ok {
		return exitError
	}
	if _, isLocal := b.(*local.Backend); isLocal {
		fmt.Fprintln(e.stderr, "Error: the runbook configures no backend, so its state already lives in the local .runbook directory. Add runbook { backend \"azurerm\" { ... } } first.")
		return exitError
	}
	from := local.New(stateFor(dir).root)
	done, err := state.Migrate(e.ctx, from, b)
	for _, m := range done {
		note := ""
		if m.Cut > 0 {
			note = fmt.Sprintf(" (a torn last line of %d bytes left out)", m.Cut)
		}
		fmt.Fprintf(e.stdout, "Copied run %s: %d records, hash chain intact%s.\n", m.Run, m.Records, note)
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "Error: %v\n", err)
		return exitError
	}
	if len(done) == 0 {
		fmt.Fprintf(e.stdout, "Nothing to copy: %s holds every local run.\n", b)
		return exitOK
	}
	fmt.Fprintf(e.stdout, "%d runs copied to %s. The local journals stay as they are; remove %s once you no longer need them.\n", len(done), b, from.RunsDir())
	if note := rekeyNote(e, from, b, done); note != "" {
		fmt.Fprintln(e.stdout, note)
	}
	return exitOK
}

// rekeyNote says which copied steps the next plan proposes once more:
// their results hold fingerprints of secrets made with the local key,
// which match nothing under the backend's key, and an HMAC cannot be
// re-keyed without the secret. Nothing to say when the backend's key is
// the local one.
func rekeyNote(e *env, from *local.Backend, to state.Backend, done []state.Migrated) string {
	var steps []string
	for _, m := range done {
		for _, s := range m.Fingerprinted {
			if !slices.Contains(steps, s) {
				steps = append(steps, s)
			}
		}
	}
	if len(steps) == 0 {
		return ""
	}
	slices.Sort(steps)
	lk, lerr := from.ReadKey(e.ctx)
	tk, terr := to.Key(e.ctx)
	if lerr == nil && terr == nil && hmac.Equal(lk, tk) {
		return ""
	}
	return fmt.Sprintf("The copied runs hold fingerprints of secrets made with the local key (%s), not the key of %s (%s), "+
		"and a fingerprint cannot be re-keyed: the next plan proposes %s once more even where the secret is unchanged; "+
		"applying it sets the same secret again, and later plans compare with the backend's key.",
		from.KeyPath(), to, stateKeyEnv, strings.Join(steps, ", "))
}

func runForceUnlock(e *env, args []string) int {
	fs := newFlagSet(e, "force-unlock", "LOCK [DIR] | -run RUN [DIR]",
		"Break the locks held by an apply that no longer runs (a lost machine, a killed CI job).\n"+
			"With -run, every lock of the runbook whose holder names run RUN is broken: the runbook's\n"+
			"own and one per hub and PEP, the command an apply that was refused printed. LOCK breaks\n"+
			"one lock: \"runbook\", or a target such as hub:https://adminmanagement.east.contoso.com.\n"+
			"Each holder is shown and you are asked to confirm; the break is journalled. A holder\n"+
			"that still runs starts no further step once it notices (within "+state.RenewEvery.String()+").\n"+
			"A local lock (no backend configured) cannot be broken: it ends with its process.")
	force := fs.Bool("force", false, "Break the locks without asking for confirmation")
	run := fs.String("run", "", "Break every lock of the runbook held by run `id` (the run a refused apply named)")
	if code, ok := parseFlags(fs, e, args); !ok {
		return code
	}
	var dir string
	switch {
	case *run != "" && fs.NArg() <= 1:
		dir = fs.Arg(0)
	case *run == "" && fs.NArg() >= 1 && fs.NArg() <= 2:
		dir = fs.Arg(1)
	default:
		fmt.Fprintln(e.stderr, "runbook force-unlock: usage: runbook force-unlock [-force] LOCK [DIR], or runbook force-unlock [-force] -run RUN [DIR]")
		return exitUsage
	}
	b, rb, ok := openBackend(e, dir)
	if !ok {
		return exitError
	}
	names := []string{fs.Arg(0)}
	if *run != "" {
		names = lockNames(rb)
	}
	held, err := heldLocks(e, b, names, *run)
	if err != nil {
		fmt.Fprintf(e.stderr, "Error: %v\n", err)
		return exitError
	}
	switch {
	case len(held) == 0 && *run != "":
		fmt.Fprintf(e.stdout, "No lock of the runbook is held by run %s: nothing to do.\n", *run)
		return exitOK
	case len(held) == 0:
		fmt.Fprintf(e.stdout, "Lock %s is not held: nothing to do.\n", names[0])
		return exitOK
	}
	for _, l := range held {
		fmt.Fprintf(e.stdout, "Lock %s is held by %s.\n", l.name, describeHolder(l.holder))
	}
	if !*force && !confirmBreak(e, len(held)) {
		return exitError
	}
	broken, berr := breakLocks(e, b, held)
	if len(broken) == 0 {
		fmt.Fprintf(e.stderr, "Error: %v\n", berr)
		return exitError
	}
	id, err := journalUnlock(e, b, broken)
	if err != nil {
		fmt.Fprintf(e.stderr, "Error: the locks were broken, but the break could not be journalled: %v\n", err)
		return exitError
	}
	what := "Lock " + broken[0].name
	if len(broken) > 1 {
		var ns []string
		for _, l := range broken {
			ns = append(ns, l.name)
		}
		what = "Locks " + strings.Join(ns, ", ")
	}
	fmt.Fprintf(e.stdout, "%s broken; journalled as run %s: see it with '%s'.\n", what, id, commandLine("runs", "show", id, dirOf(dir)))
	if berr != nil {
		fmt.Fprintf(e.stderr, "Error: %v\n", berr)
		return exitError
	}
	return exitOK
}

// heldLock is a lock force-unlock found held, and by whom.
type heldLock struct {
	name   string
	holder lock.Holder
}

// heldLocks returns the locks among names that are held: by run, when run
// is not "", else by anyone.
func heldLocks(e *env, b state.Backend, names []string, run string) ([]heldLock, error) {
	var held []heldLock
	for _, name := range names {
		h, ok, err := b.Holder(e.ctx, name)
		if err != nil {
			return nil, err
		}
		if ok && (run == "" || h.Run == run) {
			held = append(held, heldLock{name, h})
		}
	}
	return held, nil
}

// confirmBreak asks the operator on a terminal to confirm breaking n
// locks.
func confirmBreak(e *env, n int) bool {
	if !e.stdinTTY {
		fmt.Fprintln(e.stderr, "Error: force-unlock needs confirmation: run it on a terminal to answer, or pass -force.")
		return false
	}
	what := "Breaking it"
	if n > 1 {
		what = "Breaking them"
	}
	fmt.Fprint(e.stdout, what+" lets another apply change the stamp while that one may still run. Only 'yes' will be accepted: ")
	line, err := readAnswer(e.ctx, e.stdin)
	if err != nil || strings.TrimSpace(string(line)) != "yes" {
		fmt.Fprintln(e.stdout, "Force-unlock cancelled.")
		return false
	}
	return true
}

// breakLocks breaks the locks in turn, each only if the holder shown
// still holds it, and returns those it broke and the first error, after
// which it stops. A lock that changed hands since it was shown is left
// alone, and said so.
func breakLocks(e *env, b state.Backend, held []heldLock) ([]heldLock, error) {
	var broken []heldLock
	for _, l := range held {
		err := b.BreakLock(e.ctx, l.name, l.holder)
		if errors.Is(err, state.ErrChangedHands) {
			fmt.Fprintf(e.stdout, "Lock %s changed hands since it was shown: left alone.\n", l.name)
			continue
		}
		if err != nil {
			return broken, err
		}
		broken = append(broken, l)
	}
	if len(broken) == 0 {
		return nil, errors.New("no lock was broken: every one changed hands since it was shown; look again")
	}
	return broken, nil
}

// journalUnlock records broken locks in a journal of their own, so that
// `runbook runs` shows who broke whose lock and when.
func journalUnlock(e *env, b state.Backend, broken []heldLock) (string, error) {
	clk := clockFor()
	run := newRunID(clk.Now())
	j, err := b.CreateJournal(e.ctx, run, clk)
	if err != nil {
		return "", err
	}
	errs := []error{j.Append(journal.Record{Type: journal.RunStarted, User: currentUser(), Host: hostname(), ToolVersion: version})}
	for _, l := range broken {
		errs = append(errs, j.Append(journal.Record{Type: journal.Note, Reason: fmt.Sprintf("force-unlock: broke lock %s held by %s", l.name, describeHolder(l.holder))}))
	}
	errs = append(errs, j.Append(journal.Record{Type: journal.RunEnded, Status: journal.Succeeded, Reason: state.KindForceUnlock}), j.Close())
	if err := errors.Join(errs...); err != nil {
		return "", err
	}
	seq, hash := j.Head()
	_, err = state.Update(e.ctx, b, func(d *state.Document) error {
		d.SetHead(run, state.RunHead{Records: seq, Hash: hash, Status: string(journal.Succeeded), User: currentUser(), Host: hostname(),
			Started: clk.Now().UTC(), Kind: state.KindForceUnlock, Settled: true})
		return nil
	})
	return run, err
}

func describeHolder(h lock.Holder) string {
	if h.PID == 0 && h.Host == "" {
		return "an unknown holder (no holder recorded)"
	}
	s := fmt.Sprintf("pid %d on %s", h.PID, h.Host)
	if h.User != "" {
		s += " (user " + h.User + ")"
	}
	if !h.Started.IsZero() {
		s += " since " + h.Started.UTC().Format(time.RFC3339)
	}
	if h.Run != "" {
		s += ", run " + h.Run
	}
	return s
}
