package lang

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/runbook-dev/runbook/internal/boundedread"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// Options are the inputs of Load that do not come from the runbook files.
type Options struct {
	// Dir is the runbook's directory on disk, as Runbook.Dir reports it.
	Dir string
	// NamePrefix is prepended to file names in diagnostics (the directory as
	// the user typed it); it does not affect how files are read.
	NamePrefix string
	// Vars are the -var and -var-file arguments in command-line order; later
	// ones win.
	Vars []VarArg
	// Environ is the process environment as KEY=value strings: the source of
	// RUNBOOK_VAR_name values and of env().
	Environ []string
	// PlanTime is what plantimestamp() and timestamp() return.
	PlanTime time.Time
	// Validate loads for `runbook validate`: variables without a value and
	// unset environment variables become unknown values instead of errors,
	// so a runbook can be checked without its secrets.
	Validate bool
	// StepTypes are the known step types; a step of another type is an
	// error naming them. Nil accepts any type.
	StepTypes []string
}

// VarArg is one -var NAME=VALUE or -var-file FILE argument.
type VarArg struct {
	// Name and Value are set for -var.
	Name, Value string
	// Source says where a Name/Value pair came from, for the plan's
	// inputs ("prompt"); "-var" when empty.
	Source string
	// File and Src are set for -var-file: the file's name and content.
	File string
	Src  []byte
	// Resolved, with Name and Source, is a value already resolved, such as
	// a saved plan's input: it is converted to the variable's type and
	// validated like any other, not parsed again. A value for a variable
	// the runbook no longer declares is ignored with a warning.
	Resolved cty.Value
}

var topSchema = &hcl.BodySchema{
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "runbook"},
		{Type: "variable", LabelNames: []string{"name"}},
		{Type: "locals"},
		{Type: "hub", LabelNames: []string{"name"}},
		{Type: "pep", LabelNames: []string{"name"}},
		{Type: "window", LabelNames: []string{"name"}},
		{Type: "policy", LabelNames: []string{"name"}},
		{Type: "step", LabelNames: []string{"type", "name"}},
	},
}

// Load reads a runbook from fsys: every *.runbook.hcl file of the directory
// dir, or the single file dir names. It returns the runbook even when there
// are errors, with as much decoded as could be.
func Load(fsys fs.FS, dir string, opts Options) (*Runbook, hcl.Diagnostics) {
	rb := &Runbook{
		Dir:       dir,
		Files:     map[string]*hcl.File{},
		Variables: map[string]*Variable{},
		Locals:    map[string]*Local{},
		Hubs:      map[string]*Hub{},
		PEPs:      map[string]*PEP{},
		Windows:   map[string]*Window{},
		Policies:  map[string]*Policy{},
		Steps:     map[string]*Step{},
		PlanTime:  opts.PlanTime,
		validate:  opts.Validate,
	}
	env := envMap(opts.Environ)
	rb.getenv = func(k string) (string, bool) { v, ok := env[k]; return v, ok }

	names, diags := listFiles(fsys, dir, displayName(opts.NamePrefix, dir))
	if diags.HasErrors() {
		return rb, diags
	}
	rb.fsDir = dir
	if info, err := fs.Stat(fsys, dir); err == nil && !info.IsDir() {
		rb.fsDir = path.Dir(dir)
	}
	rb.Dir = rb.fsDir
	if opts.Dir != "" {
		rb.Dir = opts.Dir
	}
	rb.readFile = func(name string) ([]byte, error) {
		if !path.IsAbs(name) {
			name = path.Join(rb.fsDir, name)
		}
		return boundedread.FS(fsys, strings.TrimPrefix(path.Clean(name), "/"), boundedread.Source)
	}

	var bodies []*hcl.BodyContent
	for _, name := range names {
		src, err := boundedread.FS(fsys, name, boundedread.Source)
		display := displayName(opts.NamePrefix, name)
		if err != nil {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Cannot read runbook file",
				Detail:   fmt.Sprintf("Reading %s failed: %s.", display, err),
			})
			continue
		}
		if sdiags := CheckSource(src, display); sdiags.HasErrors() {
			diags = append(diags, sdiags...)
			continue
		}
		f, fdiags := hclsyntax.ParseConfig(src, display, hcl.InitialPos)
		diags = append(diags, fdiags...)
		if f == nil {
			continue
		}
		rb.Files[display] = f
		rb.FileNames = append(rb.FileNames, display)
		content, cdiags := f.Body.Content(topSchema)
		diags = append(diags, cdiags...)
		bodies = append(bodies, content)
	}
	if len(rb.FileNames) == 0 && !diags.HasErrors() {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "No runbook files",
			Detail:   fmt.Sprintf("The directory %s has no *%s files.", displayName(opts.NamePrefix, dir), FileSuffix),
		})
	}
	if d := emptyRunbook(rb, bodies); d != nil && !diags.HasErrors() {
		diags = append(diags, d)
	}

	// Decode every block first, so that references can be checked against
	// all declarations whatever file they are in.
	for _, content := range bodies {
		for _, block := range content.Blocks {
			diags = append(diags, rb.decodeBlock(block, opts)...)
		}
	}
	refDiags := rb.checkReferences()
	diags = append(diags, refDiags...)
	rb.funcs = functions(rb)
	var evalDiags hcl.Diagnostics
	evalDiags = append(evalDiags, rb.setVariables(opts)...)
	evalDiags = append(evalDiags, rb.evalLocals()...)
	evalDiags = append(evalDiags, rb.evalConnections()...)
	evalDiags = append(evalDiags, rb.evalWindows()...)
	evalDiags = append(evalDiags, rb.evalSteps()...)
	evalDiags = append(evalDiags, rb.checkConditions()...)
	return rb, append(diags, withoutEchoes(evalDiags, refDiags)...)
}

// withoutEchoes drops the evaluation errors that only repeat a reference
// error already reported for the same place.
func withoutEchoes(diags, refDiags hcl.Diagnostics) hcl.Diagnostics {
	if len(refDiags) == 0 {
		return diags
	}
	var out hcl.Diagnostics
	for _, d := range diags {
		echo := false
		for _, r := range refDiags {
			if d.Subject != nil && r.Subject != nil && d.Subject.Overlaps(*r.Subject) {
				echo = true
				break
			}
		}
		if !echo {
			out = append(out, d)
		}
	}
	return out
}

func (rb *Runbook) decodeBlock(block *hcl.Block, opts Options) hcl.Diagnostics {
	switch block.Type {
	case "runbook":
		if rb.Meta != nil {
			return hcl.Diagnostics{duplicate("runbook block", "", rb.Meta.DeclRange, block.DefRange)}
		}
		m, diags := decodeMeta(block)
		rb.Meta = m
		return diags
	case "variable":
		v, diags := decodeVariable(block)
		return append(diags, declare(rb.Variables, v.Name, v, "variable", v.DeclRange, func(x *Variable) hcl.Range { return x.DeclRange })...)
	case "locals":
		ls, diags := decodeLocals(block)
		for _, l := range ls {
			diags = append(diags, declare(rb.Locals, l.Name, l, "local value", l.DeclRange, func(x *Local) hcl.Range { return x.DeclRange })...)
		}
		return diags
	case "hub":
		h, diags := decodeHub(block)
		return append(diags, declare(rb.Hubs, h.Name, h, "hub", h.DeclRange, func(x *Hub) hcl.Range { return x.DeclRange })...)
	case "pep":
		p, diags := decodePEP(block)
		return append(diags, declare(rb.PEPs, p.Name, p, "pep", p.DeclRange, func(x *PEP) hcl.Range { return x.DeclRange })...)
	case "window":
		w, diags := decodeWindow(block)
		return append(diags, declare(rb.Windows, w.Name, w, "window", w.DeclRange, func(x *Window) hcl.Range { return x.DeclRange })...)
	case "policy":
		p, diags := decodePolicy(block)
		return append(diags, declare(rb.Policies, p.Name, p, "policy", p.DeclRange, func(x *Policy) hcl.Range { return x.DeclRange })...)
	case "step":
		s, diags := decodeStep(block, opts.StepTypes)
		return append(diags, declare(rb.Steps, s.Name, s, "step", s.DeclRange, func(x *Step) hcl.Range { return x.DeclRange })...)
	}
	panic("lang: unhandled block type " + block.Type)
}

// emptyRunbook reports a runbook whose files hold no block at all: nothing
// to validate, plan or apply, and most likely the wrong file or one that
// was emptied by mistake (`runbook apply` would otherwise only find that no
// step names a stamp to lock). An empty file beside others is harmless.
func emptyRunbook(rb *Runbook, bodies []*hcl.BodyContent) *hcl.Diagnostic {
	if len(rb.FileNames) == 0 {
		return nil
	}
	for _, b := range bodies {
		if len(b.Blocks) > 0 || len(b.Attributes) > 0 {
			return nil
		}
	}
	what := rb.FileNames[0] + " is empty"
	if len(rb.FileNames) > 1 {
		what = fmt.Sprintf("the %d runbook files (%s, ...) are empty", len(rb.FileNames), rb.FileNames[0])
	}
	first := rb.FileNames[0]
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Empty runbook",
		Detail: fmt.Sprintf("The runbook declares nothing: %s (comments at most), so there is nothing to check, plan or apply. Its steps, hubs, peps and variables are blocks such as step \"TYPE\" \"NAME\" { ... }; check that this is the runbook you meant.",
			what),
		Subject: &hcl.Range{Filename: first, Start: hcl.InitialPos, End: hcl.InitialPos},
	}
}

// declare adds v to m under name unless the name is taken or invalid.
func declare[V any](m map[string]V, name string, v V, kind string, rng hcl.Range, declRange func(V) hcl.Range) hcl.Diagnostics {
	if !hclsyntax.ValidIdentifier(name) {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid " + kind + " name",
			Detail:   fmt.Sprintf("%q is not a valid name: a name must start with a letter or underscore and contain only letters, digits, underscores and dashes.", name),
			Subject:  rng.Ptr(),
		}}
	}
	if prev, ok := m[name]; ok {
		return hcl.Diagnostics{duplicate(kind, name, declRange(prev), rng)}
	}
	m[name] = v
	return nil
}

// duplicate reports a second declaration of a name or, with name "", a
// second block of a kind that may appear only once (runbook, retry, auth).
func duplicate(kind, name string, prev, rng hcl.Range) *hcl.Diagnostic {
	detail := fmt.Sprintf("Only one %s is allowed here, and one was already declared at %s. Merge them into one block.", kind, prev)
	if name != "" {
		detail = fmt.Sprintf("A %s %q was already declared at %s. Names must be unique within a runbook; rename or remove one of them.", kind, name, prev)
	}
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Duplicate " + kind,
		Detail:   detail,
		Subject:  rng.Ptr(),
	}
}

// listFiles returns the runbook files to load: dir itself when it is a file,
// otherwise its *.runbook.hcl files in sorted order. display is dir as the
// user knows it: errors name it, not the path inside fsys (which is "."
// when fsys is rooted at the directory the user gave).
func listFiles(fsys fs.FS, dir, display string) ([]string, hcl.Diagnostics) {
	info, err := fs.Stat(fsys, dir)
	if err != nil {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Cannot read runbook",
			Detail:   fmt.Sprintf("Reading %s failed: %s. Give a directory of *%s files or one such file.", display, pathErr(err), FileSuffix),
		}}
	}
	if !info.IsDir() {
		return []string{dir}, nil
	}
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError, Summary: "Cannot read runbook directory",
			Detail: fmt.Sprintf("Reading %s failed: %s.", display, pathErr(err)),
		}}
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), FileSuffix) {
			names = append(names, path.Join(dir, e.Name()))
		}
	}
	sort.Strings(names)
	return names, nil
}

// pathErr returns the reason of a file system error without the path it
// names, which is relative to the fs.FS.
func pathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// displayName is the name of file name (a path inside the fs.FS) as the
// user knows it: under the directory they typed.
func displayName(prefix, name string) string {
	if prefix == "" || prefix == "." {
		return name
	}
	if name == "." {
		return prefix
	}
	return strings.TrimSuffix(prefix, "/") + "/" + name
}

func envMap(environ []string) map[string]string {
	m := make(map[string]string, len(environ))
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return m
}
