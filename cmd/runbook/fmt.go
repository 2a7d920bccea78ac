package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"

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
	targets := fs.Args()
	if len(targets) == 0 {
		targets = []string{"."}
	}
	var files []string
	for _, t := range targets {
		info, err := os.Stat(t)
		if err != nil {
			fmt.Fprintf(e.stderr, "runbook fmt: %v\n", err)
			return exitError
		}
		if !info.IsDir() {
			files = append(files, t)
			continue
		}
		matches, _ := filepath.Glob(filepath.Join(t, "*"+lang.FileSuffix))
		files = append(files, matches...)
	}
	sort.Strings(files)
	changed := 0
	var diags hcl.Diagnostics
	parsed := map[string]*hcl.File{}
	for _, name := range files {
		src, err := boundedread.File(name, boundedread.Source)
		if err != nil {
			fmt.Fprintf(e.stderr, "runbook fmt: %v\n", err)
			return exitError
		}
		display := filepath.ToSlash(name)
		// hclwrite formats even broken files; refuse them so that fmt never
		// rewrites a file it cannot read.
		if cdiags := lang.CheckSource(src, display); cdiags.HasErrors() {
			diags = append(diags, cdiags...)
			continue
		}
		f, pdiags := hclsyntax.ParseConfig(src, display, hcl.InitialPos)
		parsed[display] = f
		if pdiags.HasErrors() {
			diags = append(diags, pdiags...)
			continue
		}
		out := hclwrite.Format(src)
		if bytes.Equal(out, src) {
			continue
		}
		changed++
		if *check || *showDiff {
			fmt.Fprintln(e.stdout, display)
		}
		if *showDiff {
			e.stdout.Write(diff.Diff(display, src, display+" (formatted)", out))
		}
		if !*check {
			info, _ := os.Stat(name)
			if err := os.WriteFile(name, out, info.Mode().Perm()); err != nil {
				fmt.Fprintf(e.stderr, "runbook fmt: %v\n", err)
				return exitError
			}
			if !*showDiff {
				fmt.Fprintln(e.stdout, display)
			}
		}
	}
	if printDiags(e, parsed, diags) {
		return exitError
	}
	if *check && changed > 0 {
		fmt.Fprintf(e.stderr, "%d %s not formatted; run '%s' to fix %s.\n", changed, plural(changed, "file is", "files are"),
			commandLine(append([]string{"fmt"}, fs.Args()...)...), plural(changed, "it", "them"))
		return exitError
	}
	return exitOK
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
