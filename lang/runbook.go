package lang

import (
	"sort"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// FileSuffix is the suffix of runbook files in a directory.
const FileSuffix = ".runbook.hcl"

// Runbook is a loaded runbook: the blocks of every file, with variables and
// locals already evaluated.
type Runbook struct {
	// Dir is the runbook's directory on disk as the caller gave it
	// (Options.Dir), for step types that read files such as PFX files; when
	// the caller gave none, the directory inside the fs.FS.
	Dir string
	// fsDir is the directory inside the fs.FS; file() resolves against it.
	fsDir string
	// Files are the parsed files by name (including variable files), for
	// diagnostics snippets.
	Files map[string]*hcl.File
	// FileNames are the runbook files in load order (sorted).
	FileNames []string

	Meta      *Meta
	Variables map[string]*Variable
	Locals    map[string]*Local
	Hubs      map[string]*Hub
	PEPs      map[string]*PEP
	Windows   map[string]*Window
	Policies  map[string]*Policy
	Steps     map[string]*Step

	// PlanTime is the value of plantimestamp() and timestamp().
	PlanTime time.Time

	funcs    map[string]functionImpl
	varVals  map[string]cty.Value
	locVals  map[string]cty.Value
	getenv   func(string) (string, bool)
	readFile func(string) ([]byte, error)
	validate bool
}

// Meta is the optional runbook block.
type Meta struct {
	Description string
	Owner       string
	// Backend is where the runbook's state lives; nil is the local
	// .runbook directory.
	Backend   *Backend
	DeclRange hcl.Range
}

// StepNames returns the step names in sorted order.
func (r *Runbook) StepNames() []string { return sortedKeys(r.Steps) }

// VariableValue returns the value of variable name (marked sensitive where the
// variable is), or cty.NilVal when it is not declared.
func (r *Runbook) VariableValue(name string) cty.Value {
	v, ok := r.varVals[name]
	if !ok {
		return cty.NilVal
	}
	return v
}

// LocalValue returns the value of local name, or cty.NilVal.
func (r *Runbook) LocalValue(name string) cty.Value {
	v, ok := r.locVals[name]
	if !ok {
		return cty.NilVal
	}
	return v
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
