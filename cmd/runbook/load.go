package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/runbook-dev/runbook/internal/boundedread"

	"github.com/hashicorp/hcl/v2"
	"github.com/runbook-dev/runbook/lang"
)

// varFlags collects -var and -var-file arguments in command-line order,
// since later ones win.
type varFlags struct {
	args []lang.VarArg
	errs hcl.Diagnostics
}

func (v *varFlags) register(fs *flag.FlagSet) {
	fs.Var(varFlag{v, false}, "var", "Set a variable: -var 'name=value' (repeatable)")
	fs.Var(varFlag{v, true}, "var-file", "Read variable values from an HCL `file` (repeatable)")
}

type varFlag struct {
	v    *varFlags
	file bool
}

func (f varFlag) String() string { return "" }

func (f varFlag) Set(s string) error {
	if f.file {
		src, err := boundedread.File(s, boundedread.Source)
		if err != nil {
			f.v.errs = append(f.v.errs, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Cannot read variable file",
				Detail:   fmt.Sprintf("Reading the -var-file %s failed: %s.", s, err),
			})
			return nil
		}
		f.v.args = append(f.v.args, lang.VarArg{File: filepath.ToSlash(s), Src: src})
		return nil
	}
	name, value, ok := strings.Cut(s, "=")
	if !ok || name == "" {
		return fmt.Errorf("want -var name=value, got %q", s)
	}
	f.v.args = append(f.v.args, lang.VarArg{Name: strings.TrimSpace(name), Value: value})
	return nil
}

// loadOptions are the choices a command makes about loading.
type loadOptions struct {
	vars     *varFlags
	validate bool
	planTime time.Time
}

// loadRunbook loads the runbook at target (a directory or a file; "" is the
// current directory) and prints its diagnostics. ok is false when there were
// errors.
func loadRunbook(e *env, target string, o loadOptions) (*lang.Runbook, hcl.Diagnostics) {
	if target == "" {
		target = "."
	}
	fsysRoot, dir, prefix := target, ".", filepath.ToSlash(target)
	if info, err := os.Stat(target); err == nil && !info.IsDir() {
		fsysRoot, dir, prefix = filepath.Dir(target), filepath.Base(target), filepath.ToSlash(filepath.Dir(target))
	}
	opts := lang.Options{
		Dir:        fsysRoot,
		NamePrefix: prefix,
		Environ:    e.environ,
		PlanTime:   o.planTime,
		Validate:   o.validate,
		StepTypes:  stepTypeNames(),
	}
	var diags hcl.Diagnostics
	if o.vars != nil {
		opts.Vars = o.vars.args
		diags = append(diags, o.vars.errs...)
	}
	rb, ldiags := lang.Load(os.DirFS(fsysRoot), dir, opts)
	return rb, append(diags, ldiags...)
}

// printDiags writes diagnostics as hcl's text writer does: file:line, the
// source line and a caret under the range, a variable file's line with its
// values masked (lang.NewDiagnosticTextWriter). It returns true if any is
// an error.
func printDiags(e *env, files map[string]*hcl.File, diags hcl.Diagnostics) bool {
	if len(diags) == 0 {
		return false
	}
	w := lang.NewDiagnosticTextWriter(e.stderr, files, 0, e.color(e.stderrTTY))
	for _, d := range diags {
		_ = w.WriteDiagnostic(d)
	}
	return diags.HasErrors()
}
