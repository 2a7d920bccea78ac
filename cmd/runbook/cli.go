package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"golang.org/x/term"
)

// Exit codes, as Terraform's: 0 success, 1 an error in the input or at run
// time, 2 a usage error. plan -detailed-exitcode adds 2 for "changes".
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

// env is everything a command may touch of the process, so that tests can
// run commands in-process and the commands never reach for globals.
type env struct {
	args   []string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	// environ is the process environment, KEY=value.
	environ []string
	// stdinTTY and stdoutTTY say whether the streams are terminals.
	stdinTTY, stdoutTTY, stderrTTY bool
	// signals delivers SIGINT/SIGTERM.
	signals <-chan os.Signal
	ctx     context.Context
}

func newEnv() *env {
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	return &env{
		args:      os.Args[1:],
		stdin:     os.Stdin,
		stdout:    os.Stdout,
		stderr:    os.Stderr,
		environ:   os.Environ(),
		stdinTTY:  term.IsTerminal(int(os.Stdin.Fd())),
		stdoutTTY: term.IsTerminal(int(os.Stdout.Fd())),
		stderrTTY: term.IsTerminal(int(os.Stderr.Fd())),
		signals:   sig,
		ctx:       context.Background(),
	}
}

// getenv returns an environment variable of e.
func (e *env) getenv(key string) string {
	for i := len(e.environ) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(e.environ[i], "="); ok && k == key {
			return v
		}
	}
	return ""
}

// color reports whether output to a stream may be coloured: only on a
// terminal, and never when NO_COLOR is set (https://no-color.org).
func (e *env) color(tty bool) bool {
	if _, set := lookupEnv(e.environ, "NO_COLOR"); set {
		return false
	}
	return tty && e.getenv("TERM") != "dumb"
}

func lookupEnv(environ []string, key string) (string, bool) {
	for i := len(environ) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(environ[i], "="); ok && k == key {
			return v, true
		}
	}
	return "", false
}

// command is a subcommand.
type command struct {
	name    string
	summary string
	run     func(e *env, args []string) int
	hidden  bool
}

func commands() []command {
	return []command{
		{name: "validate", summary: "Check a runbook for errors without contacting a stamp", run: runValidate},
		{name: "fmt", summary: "Rewrite runbook files in the canonical format", run: runFmt},
		{name: "plan", summary: "Show what apply would change, with the evidence a reviewer needs", run: runPlan},
		{name: "apply", summary: "Apply a runbook or a saved plan inside the change window", run: runApply},
		{name: "show", summary: "Print a saved plan", run: runShow},
		{name: "graph", summary: "Print the step graph in DOT syntax", run: runGraph},
		{name: "runs", summary: "List journalled runs, or print one", run: runRuns},
		{name: "sim", summary: "Serve the simulated stamp (Hub and PEP), or write its certificates", run: runSim},
		{name: "gen", summary: "Print a generated runbook (for benchmarks)", run: runGen, hidden: true},
		{name: "version", summary: "Print the version of runbook", run: runVersion},
		{name: "help", summary: "Show help for a command", run: runHelp},
	}
}

func run(e *env) int {
	if len(e.args) == 0 {
		usage(e.stderr)
		return exitUsage
	}
	name := strings.TrimLeft(e.args[0], "-")
	switch name {
	case "h", "help":
		return runHelp(e, e.args[1:])
	case "v", "version":
		return runVersion(e, e.args[1:])
	}
	for _, c := range commands() {
		if c.name == name {
			return c.run(e, e.args[1:])
		}
	}
	fmt.Fprintf(e.stderr, "runbook: unknown command %q\n\n", e.args[0])
	usage(e.stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprint(w, "Usage: runbook <command> [flags] [args]\n\n"+
		"runbook rotates the secrets of Azure Stack Hub from declarative HCL runbooks.\n\nCommands:\n")
	cmds := commands()
	for _, c := range cmds {
		if !c.hidden {
			fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
		}
	}
	fmt.Fprint(w, "\nRun 'runbook help <command>' for a command's flags.\n")
}

func runHelp(e *env, args []string) int {
	if len(args) == 0 {
		usage(e.stdout)
		return exitOK
	}
	for _, c := range commands() {
		if c.name == args[0] && c.name != "help" {
			return c.run(e, []string{"-h"})
		}
	}
	fmt.Fprintf(e.stderr, "runbook help: unknown command %q\n", args[0])
	return exitUsage
}

// newFlagSet returns a flag set for a subcommand whose usage text goes to
// stderr, or to stdout when help was asked for.
func newFlagSet(e *env, name, argsUsage, summary string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: runbook %s [flags] %s\n\n%s\n\nFlags:\n", name, argsUsage, summary)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args; it returns an exit code and false when the command
// must stop (help was asked for, or the flags are wrong).
func parseFlags(fs *flag.FlagSet, e *env, args []string) (int, bool) {
	for _, a := range args {
		if a == "-h" || a == "-help" || a == "--help" || a == "--h" {
			fs.SetOutput(e.stdout)
			fs.Usage()
			return exitOK, false
		}
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK, false
		}
		return exitUsage, false
	}
	return exitOK, true
}
