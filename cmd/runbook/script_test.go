package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
	"github.com/runbook-dev/runbook/clock"
)

// TestMain lets the test binary act as the runbook command in scripts.
func TestMain(m *testing.M) {
	testscript.Main(withAzurite{m}, map[string]func(){
		"runbook": func() {
			// Scripts pin the wall clock with RUNBOOK_TEST_NOW so that plans
			// and windows are reproducible: test-only wiring, absent from the
			// shipped binary.
			if v := os.Getenv("RUNBOOK_TEST_NOW"); v != "" {
				t, err := time.Parse(time.RFC3339, v)
				if err != nil {
					panic(err)
				}
				testClock = func() clock.Clock { return clock.NewScaled(clock.Real, t, 1) }
			}
			main()
		},
	})
}

// TestScripts runs testdata/scripts/*.txtar against the real CLI.
// UPDATE_SCRIPTS=1 rewrites their golden files.
func TestScripts(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir:                 filepath.Join(root, "testdata", "scripts"),
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		UpdateScripts:       os.Getenv("UPDATE_SCRIPTS") != "",
		Condition:           scriptCondition,
		Setup: func(env *testscript.Env) error {
			env.Setenv("RUNBOOK_ROOT", root)
			env.Setenv("NO_COLOR", "1")
			env.Setenv("RUNBOOK_SIM_PAUSE", "1ms")
			env.Setenv("RUNBOOK_TEST_NOW", "2026-11-28T23:00:00Z")
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"copyrunbook":     cmdCopyRunbook,
			"grepall":         cmdGrepAll,
			"normalize":       cmdNormalize,
			"waitfor":         cmdWaitFor,
			"filemode":        cmdFileMode,
			"replace":         cmdReplace,
			"truncate":        cmdTruncate,
			"replace-in-runs": cmdReplaceInRuns,
			"cut-runs":        cmdCutRuns,
			"loadenv":         cmdLoadEnv,
			"doccommands":     cmdDocCommands,
			"runprinted":      cmdRunPrinted,
			"status":          cmdStatus,
			"azurite":         cmdAzurite,
			"holdlock":        cmdHoldLock,
			"schema":          cmdSchema,
			"blob":            cmdBlob,
		},
	})
}

// copyrunbook NAME DIR copies runbooks/NAME from the repository into DIR.
func cmdCopyRunbook(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: copyrunbook NAME DIR")
	}
	src := filepath.Join(ts.Getenv("RUNBOOK_ROOT"), "runbooks", args[0])
	dst := ts.MkAbs(args[1])
	err := filepath.Walk(src, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if strings.HasPrefix(rel, ".runbook") || strings.HasPrefix(rel, "certs") {
			if info.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		target := filepath.Join(dst, rel)
		if info.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	ts.Check(err)
}

// grepall STRING DIR... fails (or with !, succeeds only) if STRING occurs in
// any file under the directories: the canary search of the security proof.
func cmdGrepAll(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 {
		ts.Fatalf("usage: grepall STRING DIR...")
	}
	needle := args[0]
	var hits []string
	for _, d := range args[1:] {
		filepath.Walk(ts.MkAbs(d), func(path string, info os.FileInfo, err error) error {
			if err != nil || info.IsDir() {
				return nil
			}
			b, err := os.ReadFile(path)
			if err == nil && strings.Contains(string(b), needle) {
				hits = append(hits, path)
			}
			return nil
		})
	}
	switch {
	case neg && len(hits) > 0:
		ts.Fatalf("%q found in %s", needle, strings.Join(hits, ", "))
	case !neg && len(hits) == 0:
		ts.Fatalf("%q not found", needle)
	}
}

var (
	reSHA256 = regexp.MustCompile(`\b[0-9A-Fa-f]{64}\b`)
	reTime   = regexp.MustCompile(`\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z\b`)
	reClock  = regexp.MustCompile(`\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d\d:\d\d\b`)
	reDays   = regexp.MustCompile(`days_left  = \d+`)
	reSpan   = regexp.MustCompile(`(fits with|short|opens) [0-9hms-]+`)
	reRunID  = regexp.MustCompile(`\d{8}T\d{6}Z-[0-9a-f]{6}`)
	rePlanID = regexp.MustCompile(`\b[0-9a-f]{32}\b`)
)

// normalize FILE writes stdout to FILE with what varies from run to run
// (fingerprints, times, run ids) replaced by placeholders, for a cmp with a
// golden file (which UPDATE_SCRIPTS=1 rewrites).
func cmdNormalize(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: normalize FILE")
	}
	out := ts.ReadFile("stdout")
	out = reSHA256.ReplaceAllString(out, "<sha256>")
	out = reTime.ReplaceAllString(out, "<time>")
	out = reClock.ReplaceAllString(out, "<day hh:mm>")
	out = reDays.ReplaceAllString(out, "days_left  = <days>")
	out = reSpan.ReplaceAllString(out, "$1 <duration>")
	out = reRunID.ReplaceAllString(out, "<run>")
	out = rePlanID.ReplaceAllString(out, "<plan id>")
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), []byte(out), 0o644))
}

// waitfor FILE REGEXP waits (at most 60 s of wall time) until FILE exists
// and matches REGEXP: how a script knows that a command it runs in the
// background has reached a given point.
func cmdWaitFor(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: waitfor FILE REGEXP")
	}
	re := regexp.MustCompile(args[1])
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		matches, _ := filepath.Glob(ts.MkAbs(args[0]))
		for _, m := range matches {
			if b, err := os.ReadFile(m); err == nil && re.Match(b) {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	ts.Fatalf("%s never matched %q", args[0], args[1])
}

// filemode MODE GLOB... checks the permission bits of files (not on
// Windows, which has none).
func cmdFileMode(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 {
		ts.Fatalf("usage: filemode MODE GLOB...")
	}
	if isWindows() {
		return
	}
	n := 0
	for _, g := range args[1:] {
		matches, _ := filepath.Glob(ts.MkAbs(g))
		for _, m := range matches {
			info, err := os.Stat(m)
			ts.Check(err)
			if got := fmt.Sprintf("%04o", info.Mode().Perm()); got != args[0] {
				ts.Fatalf("%s has mode %s, want %s", m, got, args[0])
			}
			n++
		}
	}
	if n == 0 {
		ts.Fatalf("no file matches %v", args[1:])
	}
}

// replace FILE OLD NEW replaces every OLD in FILE with NEW.
func cmdReplace(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 3 {
		ts.Fatalf("usage: replace FILE OLD NEW")
	}
	b := ts.ReadFile(args[0])
	if !strings.Contains(b, args[1]) {
		ts.Fatalf("%s does not contain %q", args[0], args[1])
	}
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), []byte(strings.ReplaceAll(b, args[1], args[2])), 0o600))
}

// truncate FILE N cuts FILE to its first N bytes.
func cmdTruncate(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: truncate FILE N")
	}
	var n int
	_, err := fmt.Sscan(args[1], &n)
	ts.Check(err)
	ts.Check(os.Truncate(ts.MkAbs(args[0]), int64(n)))
}

// cut-runs DIR N deletes the last N whole lines of every journal under
// DIR/.runbook/runs (all of them for N = all): records removed from the
// end, which the hash chain alone does not show.
func cmdCutRuns(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: cut-runs DIR N|all")
	}
	matches, _ := filepath.Glob(filepath.Join(ts.MkAbs(args[0]), ".runbook", "runs", "*.jsonl"))
	if len(matches) == 0 {
		ts.Fatalf("no journal under %s", args[0])
	}
	for _, m := range matches {
		b, err := os.ReadFile(m)
		ts.Check(err)
		lines := strings.SplitAfter(string(b), "\n")
		if lines[len(lines)-1] == "" {
			lines = lines[:len(lines)-1]
		}
		n := len(lines)
		if args[1] != "all" {
			_, err := fmt.Sscan(args[1], &n)
			ts.Check(err)
		}
		ts.Check(os.WriteFile(m, []byte(strings.Join(lines[:len(lines)-n], "")), 0o600))
	}
}

// replace-in-runs DIR OLD NEW edits the first journal under DIR/.runbook/runs
// that contains OLD, as someone covering their tracks would.
func cmdReplaceInRuns(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 3 {
		ts.Fatalf("usage: replace-in-runs DIR OLD NEW")
	}
	matches, _ := filepath.Glob(filepath.Join(ts.MkAbs(args[0]), ".runbook", "runs", "*.jsonl"))
	for _, m := range matches {
		b, err := os.ReadFile(m)
		ts.Check(err)
		if strings.Contains(string(b), args[1]) {
			ts.Check(os.WriteFile(m, []byte(strings.Replace(string(b), args[1], args[2], 1)), 0o600))
			return
		}
	}
	ts.Fatalf("no journal under %s contains %q", args[0], args[1])
}

// loadenv FILE sets the KEY=value lines of FILE in the script's environment.
func cmdLoadEnv(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: loadenv FILE")
	}
	for _, line := range strings.Split(ts.ReadFile(args[0]), "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), "="); ok {
			ts.Setenv(k, v)
		}
	}
}

// runprinted [stdout|stderr|FILE] PREFIX runs the runbook command that the
// last command printed after PREFIX (on stdout unless another is named: a
// file where an earlier output was copied), exactly
// as printed: how the scripts prove that every command runbook tells the
// user to run works. The command ends at the end of the line (or of the
// next, when PREFIX ends its line), or where a quote that it did not open
// closes it ("run 'runbook fmt rb' to fix").
func cmdRunPrinted(ts *testscript.TestScript, neg bool, args []string) {
	stream := "stdout"
	if len(args) == 2 {
		stream, args = args[0], args[1:]
	}
	if len(args) != 1 {
		ts.Fatalf("usage: runprinted [stdout|stderr|FILE] PREFIX")
	}
	text := ts.ReadFile(stream)
	i := strings.Index(text, args[0])
	if i < 0 {
		ts.Fatalf("%s holds no %q", stream, args[0])
	}
	line, next, _ := strings.Cut(text[i+len(args[0]):], "\n")
	if strings.TrimSpace(line) == "" {
		line, _, _ = strings.Cut(next, "\n") // the command is on a line of its own
	}
	words, err := splitPrinted(strings.TrimSpace(line))
	if err != nil {
		ts.Fatalf("%q: %v", line, err)
	}
	if len(words) == 0 || words[0] != "runbook" {
		ts.Fatalf("%q is not a runbook command", line)
	}
	ts.Logf("running the printed command: %s", strings.Join(words, " "))
	err = ts.Exec("runbook", words[1:]...)
	switch {
	case neg && err == nil:
		ts.Fatalf("the printed command succeeded")
	case !neg && err != nil:
		ts.Fatalf("the printed command failed: %v", err)
	}
}

// splitPrinted splits a printed command into words as a POSIX shell would
// for the quoting commandLine produces.
func splitPrinted(s string) ([]string, error) {
	var words []string
	for s != "" {
		s = strings.TrimLeft(s, " ")
		if s == "" {
			break
		}
		if s[0] == '\'' {
			var w strings.Builder
			for {
				end := strings.IndexByte(s[1:], '\'')
				if end < 0 {
					return nil, fmt.Errorf("unterminated quote")
				}
				w.WriteString(s[1 : 1+end])
				s = s[2+end:]
				if strings.HasPrefix(s, `\''`) {
					w.WriteByte('\'')
					s = s[2:]
					continue
				}
				break
			}
			words = append(words, w.String())
			continue
		}
		end := strings.IndexByte(s, ' ')
		if end < 0 {
			end = len(s)
		}
		w := s[:end]
		s = s[end:]
		if q := strings.IndexByte(w, '\''); q >= 0 {
			// A quote the command did not open closes it.
			if q > 0 {
				words = append(words, w[:q])
			}
			break
		}
		words = append(words, w)
	}
	return words, nil
}

// status N ARGS... runs runbook with ARGS and checks that it exits with
// status N, on every platform (no shell needed).
func cmdStatus(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 {
		ts.Fatalf("usage: status N ARGS...")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	err = ts.Exec("runbook", args[1:]...)
	got := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		got = ee.ExitCode()
	case err != nil:
		ts.Fatalf("runbook: %v", err)
	}
	if got != want {
		ts.Fatalf("runbook exited %d, want %d", got, want)
	}
}

// reDocCommand finds a runbook command line in a code block of a document:
// a line that starts with runbook (after NAME=value assignments), up to a
// shell operator.
var reDocCommand = regexp.MustCompile(`^((?:[A-Z_]+=\S+ )*)(runbook [^|;&>"]*)`)

// doccommands FILE WANT... runs every runbook command line shown in the
// code blocks of FILE (relative to the repository), as written, with the
// environment assignments written before it; each must exit with one of
// the WANT statuses: the commands a document tells a user to run are run by
// a test.
func cmdDocCommands(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 {
		ts.Fatalf("usage: doccommands FILE WANT...")
	}
	b, err := os.ReadFile(filepath.Join(ts.Getenv("RUNBOOK_ROOT"), args[0]))
	ts.Check(err)
	inBlock, n := false, 0
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			inBlock = !inBlock
			continue
		}
		m := reDocCommand.FindStringSubmatch(strings.TrimSpace(line))
		if !inBlock || m == nil {
			continue
		}
		saved := map[string]string{}
		for _, kv := range strings.Fields(m[1]) {
			k, v, _ := strings.Cut(kv, "=")
			saved[k] = ts.Getenv(k)
			ts.Setenv(k, v)
		}
		words := strings.Fields(m[2])
		got := 0
		if err := ts.Exec(words[0], words[1:]...); err != nil {
			var ee *exec.ExitError
			if !errors.As(err, &ee) {
				ts.Fatalf("%s: %v", m[0], err)
			}
			got = ee.ExitCode()
		}
		for k, v := range saved {
			ts.Setenv(k, v)
		}
		ts.Logf("%s: exit status %d", m[0], got)
		if !slices.Contains(args[1:], fmt.Sprint(got)) {
			ts.Fatalf("%s exited with status %d, want one of %v\n%s", m[0], got, args[1:], ts.ReadFile("stderr"))
		}
		n++
	}
	if n == 0 {
		ts.Fatalf("%s shows no runbook command", args[0])
	}
}

// schema NAME [FILE] validates FILE (stdout by default) against
// docs/NAME.schema.json: one JSON document, or, for a stream (apply
// -json), each line on its own.
func cmdSchema(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 1 || len(args) > 2 {
		ts.Fatalf("usage: schema NAME [FILE]")
	}
	src := "stdout"
	if len(args) == 2 {
		src = args[1]
	}
	sch, err := compileSchema(filepath.Join(ts.Getenv("RUNBOOK_ROOT"), "docs", args[0]+".schema.json"))
	ts.Check(err)
	text := ts.ReadFile(src)
	docs := []string{text}
	if args[0] == "apply-events" {
		docs = strings.Split(strings.TrimSpace(text), "\n")
	}
	var failures []string
	for i, d := range docs {
		if err := validateJSON(sch, d); err != nil {
			failures = append(failures, fmt.Sprintf("document %d: %v", i+1, err))
		}
	}
	switch {
	case !neg && len(failures) > 0:
		ts.Fatalf("%s does not match docs/%s.schema.json:\n%s", src, args[0], strings.Join(failures, "\n"))
	case neg && len(failures) == 0:
		ts.Fatalf("%s matches docs/%s.schema.json", src, args[0])
	}
}
