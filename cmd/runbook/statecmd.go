package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/runbook-dev/runbook/executor/journal"
	"github.com/runbook-dev/runbook/executor/lock"
	"github.com/runbook-dev/runbook/state"
	"github.com/runbook-dev/runbook/state/local"
)

func runState(e *env, args []string) int {
	fs := newFlagSet(e, "state", "migrate [DIR]",
		"Manage where the runbook's state lives.\n"+
			"  runbook state migrate [DIR]   copy the journals of the local .runbook directory,\n"+
			"                                their chains verified, into the backend the runbook\n"+
			"                                configures (runbook { backend \"azurerm\" { ... } })")
	if code, ok := parseFlags(fs, e, args); !ok {
		return code
	}
	if fs.NArg() == 0 || fs.Arg(0) != "migrate" || fs.NArg() > 2 {
		fmt.Fprintln(e.stderr, "runbook state: usage: runbook state migrate [DIR]")
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
	return exitOK
}

func runForceUnlock(e *env, args []string) int {
	fs := newFlagSet(e, "force-unlock", "LOCK [DIR]",
		"Break a lock held by an apply that no longer runs (a lost machine, a killed CI job).\n"+
			"LOCK is the name an apply that was refused printed: \"runbook\", or a target such as\n"+
			"hub:https://adminmanagement.east.contoso.com. The holder is shown and you are asked\n"+
			"to confirm; the break is journalled. The holder, if it still runs, starts no further\n"+
			"step once it notices (within "+state.RenewEvery.String()+").")
	force := fs.Bool("force", false, "Break the lock without asking for confirmation")
	if code, ok := parseFlags(fs, e, args); !ok {
		return code
	}
	if fs.NArg() < 1 || fs.NArg() > 2 {
		fmt.Fprintln(e.stderr, "runbook force-unlock: usage: runbook force-unlock [-force] LOCK [DIR]")
		return exitUsage
	}
	name := fs.Arg(0)
	b, _, ok := openBackend(e, fs.Arg(1))
	if !ok {
		return exitError
	}
	h, held, err := b.Holder(e.ctx, name)
	if err != nil {
		fmt.Fprintf(e.stderr, "Error: %v\n", err)
		return exitError
	}
	if !held {
		fmt.Fprintf(e.stdout, "Lock %s is not held: nothing to do.\n", name)
		return exitOK
	}
	who := describeHolder(h)
	fmt.Fprintf(e.stdout, "Lock %s is held by %s.\n", name, who)
	if !*force {
		if !e.stdinTTY {
			fmt.Fprintln(e.stderr, "Error: force-unlock needs confirmation: run it on a terminal to answer, or pass -force.")
			return exitError
		}
		fmt.Fprint(e.stdout, "Breaking it lets another apply change the stamp while that one may still run. Only 'yes' will be accepted: ")
		line, err := readAnswer(e.ctx, e.stdin)
		if err != nil || strings.TrimSpace(string(line)) != "yes" {
			fmt.Fprintln(e.stdout, "Force-unlock cancelled.")
			return exitError
		}
	}
	if _, err := b.BreakLock(e.ctx, name); err != nil {
		fmt.Fprintf(e.stderr, "Error: %v\n", err)
		return exitError
	}
	run, err := journalUnlock(e, b, name, who)
	if err != nil {
		fmt.Fprintf(e.stderr, "Error: the lock was broken, but the break could not be journalled: %v\n", err)
		return exitError
	}
	fmt.Fprintf(e.stdout, "Lock %s broken; journalled as run %s: see it with '%s'.\n", name, run, commandLine("runs", "show", run, dirOf(fs.Arg(1))))
	return exitOK
}

// journalUnlock records a broken lock in a journal of its own, so that
// `runbook runs` shows who broke whose lock and when.
func journalUnlock(e *env, b state.Backend, name, who string) (string, error) {
	clk := clockFor()
	run := newRunID(clk.Now())
	j, err := b.CreateJournal(e.ctx, run, clk)
	if err != nil {
		return "", err
	}
	err = errors.Join(
		j.Append(journal.Record{Type: journal.RunStarted, User: currentUser(), Host: hostname(), ToolVersion: version}),
		j.Append(journal.Record{Type: journal.Note, Reason: fmt.Sprintf("force-unlock: broke lock %s held by %s", name, who)}),
		j.Append(journal.Record{Type: journal.RunEnded, Status: journal.Succeeded, Reason: "force-unlock"}),
		j.Close())
	if err != nil {
		return "", err
	}
	seq, hash := j.Head()
	_, err = state.Update(e.ctx, b, func(d *state.Document) error {
		d.SetHead(run, state.RunHead{Records: seq, Hash: hash, Status: string(journal.Succeeded), User: currentUser(), Host: hostname()})
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
