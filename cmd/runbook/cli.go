package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/runbook-dev/runbook/lang"
	"golang.org/x/term"
)

// Exit codes, as Terraform's: 0 success, 1 any error. A usage error exits 1
// too, so that plan -detailed-exitcode's 2 means only "changes present": a
// CI job never takes a mistyped flag for a plan with changes.
const (
	exitOK      = 0
	exitError   = 1
	exitUsage   = exitError
	exitChanges = 2
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
	// width returns the columns of the terminal on stdout, 0 when unknown;
	// asked at each redraw, so that a resized window is followed.
	width func() int
	// noVT is set when the console does not interpret escape sequences
	// (a Windows console where virtual-terminal processing cannot be
	// enabled): no colour and no live status line then.
	noVT bool
	// onFlagSet, when set, is given every flag set a command makes: how
	// completion learns each command's flags.
	onFlagSet func(*flag.FlagSet)
	// signals delivers SIGINT/SIGTERM; run turns them into the
	// cancellation of ctx (see interrupts).
	signals <-chan os.Signal
	ctx     context.Context
	// exit ends the process; nil in tests that run commands in-process,
	// where a command that ignores its context is a failing test.
	exit func(int)
	intr *interrupts
}

func newEnv() *env {
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	e := &env{
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
		width:     func() int { return terminalWidth(os.Stdout) },
		exit:      os.Exit,
	}
	if e.stdoutTTY && !enableVT(os.Stdout) || e.stderrTTY && !enableVT(os.Stderr) {
		e.noVT = true
	}
	return e
}

// terminalWidth returns the columns of the terminal f is, 0 if it is none.
func terminalWidth(f *os.File) int {
	w, _, err := term.GetSize(int(f.Fd()))
	if err != nil {
		return 0
	}
	return w
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
	if _, set := lookupEnv(e.environ, "NO_COLOR"); set || e.noVT {
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
		{name: "expiry", summary: "List when every secret of the stamps expires, and which step rotates it", run: runExpiry},
		{name: "state", summary: "Show what the state says of each step (list, show); copy local journals (migrate)", run: runState},
		{name: "force-unlock", summary: "Break the lock of an apply that no longer runs", run: runForceUnlock},
		{name: "sim", summary: "Serve the simulated stamp (Hub and PEP), or write its certificates", run: runSim},
		{name: "gen", summary: "Print a generated runbook (for benchmarks)", run: runGen, hidden: true},
		{name: "version", summary: "Print the version of runbook", run: runVersion},
		{name: "completion", summary: "Print a shell completion script (bash, PowerShell)", run: runCompletion},
		{name: "help", summary: "Show help for a command", run: runHelp},
	}
}

// run runs the command of e.args. A command cancelled by a signal exits
// with 128 + the signal's number (130 for Ctrl-C), as shells expect.
func run(e *env) int {
	stop := e.watchSignals()
	defer stop()
	code := dispatch(e)
	if sig := e.interrupted(); sig != nil && code != exitOK {
		fmt.Fprintf(e.stderr, "runbook: interrupted (%v)\n", sig)
		return exitCodeFor(sig)
	}
	return code
}

func dispatch(e *env) int {
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
	if c, ok := findCommand(name); ok {
		return c.run(e, e.args[1:])
	}
	fmt.Fprintf(e.stderr, "runbook: unknown command %q.%s\n\n", e.args[0], didYouMean(name, commandNames()))
	usage(e.stderr)
	return exitUsage
}

// findCommand returns the command called name.
func findCommand(name string) (command, bool) {
	for _, c := range commands() {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// commandNames returns the names of the commands a user may type.
func commandNames() []string {
	var names []string
	for _, c := range commands() {
		if !c.hidden {
			names = append(names, c.name)
		}
	}
	return names
}

// didYouMean returns " Did you mean "x"?" for the closest of names to s, or
// "" when none is close, as lang's diagnostics do for references.
func didYouMean(s string, names []string) string { return lang.DidYouMean(s, names) }

func usage(w io.Writer) {
	fmt.Fprint(w, "Usage: runbook <command> [flags] [args]\n\n"+
		"runbook rotates the secrets of Azure Stack Hub from declarative HCL runbooks.\n\nCommands:\n")
	cmds := commands()
	for _, c := range cmds {
		if !c.hidden {
			fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
		}
	}
	fmt.Fprint(w, "\nFlags may come before or after a command's arguments.\n"+
		"Exit status: 0 success, 1 any error (plan -detailed-exitcode: 2 changes present).\n"+
		"Run 'runbook help <command>' for a command's flags.\n")
}

func runHelp(e *env, args []string) int {
	if len(args) == 0 {
		usage(e.stdout)
		return exitOK
	}
	if c, ok := findCommand(args[0]); ok && c.name != "help" {
		return c.run(e, []string{"-h"})
	}
	fmt.Fprintf(e.stderr, "runbook help: unknown command %q.%s\n", args[0], didYouMean(args[0], commandNames()))
	return exitUsage
}

// exitCodes says, per command, what its exit status means; -h prints it.
var exitCodes = map[string]string{
	"plan":     "0 the plan was made (with -detailed-exitcode: and has no changes),\n  1 an error (usage errors too), 2 with -detailed-exitcode only: the plan has changes",
	"apply":    "0 every step succeeded or had nothing to do, 1 an error, a failed,\n  skipped or stopped step, or approval refused",
	"fmt":      "0 formatted (or, with -check, nothing to change), 1 an error or, with -check,\n  a file that is not formatted",
	"runs":     "0 success, 1 an error or a journal whose hash chain is broken",
	"expiry":   "0 nothing expires within -within, 1 an error, 2 a secret expires within -within",
	"validate": "0 the runbook is valid, 1 it is not, or a usage error",
}

// newFlagSet returns a flag set for a subcommand whose usage text goes to
// stderr, or to stdout when help was asked for.
func newFlagSet(e *env, name, argsUsage, summary string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	if e.onFlagSet != nil {
		e.onFlagSet(fs)
	}
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "Usage: runbook %s [flags] %s\n\n%s\n", name, argsUsage, summary)
		n := 0
		fs.VisitAll(func(*flag.Flag) { n++ })
		if n > 0 {
			fmt.Fprint(w, "\nFlags (before or after the arguments):\n")
			fs.PrintDefaults()
		}
		codes := exitCodes[name]
		if codes == "" {
			codes = "0 success, 1 an error"
		}
		fmt.Fprintf(w, "\nExit status:\n  %s\n", codes)
	}
	return fs
}

// parseFlags parses args, flags before, between and after the positional
// arguments (as Terraform and most CLIs accept them; "--" ends the flags).
// Afterwards fs.Args() holds the positional arguments in order. It returns
// an exit code and false when the command must stop (help was asked for, or
// the flags are wrong).
func parseFlags(fs *flag.FlagSet, e *env, args []string) (int, bool) {
	for _, a := range args {
		if a == "--" {
			break
		}
		if a == "-h" || a == "-help" || a == "--help" || a == "--h" {
			fs.SetOutput(e.stdout)
			fs.Usage()
			return exitOK, false
		}
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		fmt.Fprintf(e.stderr, "runbook %s: %v%s\n", fs.Name(), err, flagSuggestion(fs, err))
		fmt.Fprintf(e.stderr, "Run '%s' for its flags.\n", commandLine(fs.Name(), "-h"))
		return exitUsage, false
	}
	// Parse stops at "--" and keeps what follows as the arguments; the
	// flags already set keep their values.
	if err := fs.Parse(append([]string{"--"}, pos...)); err != nil {
		panic(err) // unreachable: nothing after "--" is a flag
	}
	return exitOK, true
}

// parseInterspersed parses the flags in args wherever they are and returns
// the positional arguments.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	out := fs.Output()
	fs.SetOutput(io.Discard) // errors are reported by the caller, with a suggestion
	defer fs.SetOutput(out)
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// flagSuggestion returns a " Did you mean" for an undefined flag.
func flagSuggestion(fs *flag.FlagSet, err error) string {
	const undefined = "flag provided but not defined: -"
	msg := err.Error()
	if !strings.HasPrefix(msg, undefined) {
		return ""
	}
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	name := strings.TrimLeft(strings.TrimPrefix(msg, undefined), "-")
	if s := didYouMean(name, names); s != "" {
		return strings.Replace(s, `"`, `"-`, 1)
	}
	return ""
}
