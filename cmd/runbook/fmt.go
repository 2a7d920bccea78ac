package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/runbook-dev/runbook/internal/boundedread"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/rogpeppe/go-internal/diff"
	"github.com/runbook-dev/runbook/lang"
)

func runFmt(e *env, args []string) int {
	fs := newFlagSet(e, "fmt", "[DIR|FILE...]",
		"Rewrite runbook files (*"+lang.FileSuffix+") and variable files (*.hcl given by name) in the\n"+
			"canonical format. With -check, change nothing and exit 1 if a file would change.")
	check := fs.Bool("check", false, "Do not write; list the files that are not formatted and exit 1 if any")
	showDiff := fs.Bool("diff", false, "Print the changes as a unified diff")
	if code, ok := parseFlags(fs, e, args); !ok {
		return code
	}
	files, err := fmtFiles(fs.Args())
	if err != nil {
		fmt.Fprintf(e.stderr, "runbook fmt: %v\n", err)
		return exitError
	}
	r := &fmtRun{e: e, check: *check, showDiff: *showDiff, parsed: map[string]*hcl.File{}}
	for _, name := range files {
		if err := r.file(name); err != nil {
			fmt.Fprintf(e.stderr, "runbook fmt: %v\n", err)
			return exitError
		}
	}
	if printDiags(e, r.parsed, r.diags) {
		return exitError
	}
	if *check && r.changed > 0 {
		fmt.Fprintf(e.stderr, "%d %s not formatted; run '%s' to fix %s.\n", r.changed, plural(r.changed, "file is", "files are"),
			commandLine(append([]string{"fmt"}, fs.Args()...)...), plural(r.changed, "it", "them"))
		return exitError
	}
	return exitOK
}

// fmtFiles lists the files fmt formats, sorted: each target that is a file,
// and the runbook files in each target that is a directory (the current
// directory without targets).
func fmtFiles(targets []string) ([]string, error) {
	if len(targets) == 0 {
		targets = []string{"."}
	}
	var files []string
	for _, t := range targets {
		info, err := os.Stat(t)
		if err != nil {
			return nil, err
		}
		if !info.IsDir() {
			files = append(files, t)
			continue
		}
		matches, _ := filepath.Glob(filepath.Join(t, "*"+lang.FileSuffix))
		files = append(files, matches...)
	}
	sort.Strings(files)
	return files, nil
}

// fmtRun formats files one by one, counting those that change and
// collecting the diagnostics of those it cannot read.
type fmtRun struct {
	e               *env
	check, showDiff bool
	changed         int
	diags           hcl.Diagnostics
	parsed          map[string]*hcl.File
}

// file formats one file: it lists, diffs or rewrites it as the flags say.
func (r *fmtRun) file(name string) error {
	src, err := boundedread.File(name, boundedread.Source)
	if err != nil {
		return err
	}
	display := filepath.ToSlash(name)
	// hclwrite formats even broken files; refuse them so that fmt never
	// rewrites a file it cannot read.
	if cdiags := lang.CheckSource(src, display); cdiags.HasErrors() {
		r.diags = append(r.diags, cdiags...)
		return nil
	}
	f, pdiags := hclsyntax.ParseConfig(src, display, hcl.InitialPos)
	r.parsed[display] = f
	if !strings.HasSuffix(display, lang.FileSuffix) {
		// A variable file: its diagnostics must not quote its values.
		r.parsed[display] = lang.MaskVarFile(f)
	}
	if pdiags.HasErrors() {
		r.diags = append(r.diags, pdiags...)
		return nil
	}
	out := hclwrite.Format(src)
	if bytes.Equal(out, src) {
		return nil
	}
	r.changed++
	if r.check || r.showDiff {
		fmt.Fprintln(r.e.stdout, display)
	}
	if r.showDiff {
		r.e.stdout.Write(diff.Diff(display, src, display+" (formatted)", out))
	}
	if !r.check {
		info, _ := os.Stat(name)
		if err := os.WriteFile(name, out, info.Mode().Perm()); err != nil {
			return err
		}
		if !r.showDiff {
			fmt.Fprintln(r.e.stdout, display)
		}
	}
	return nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
