package lang

import (
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"
	"time"
)

// FuzzLoad feeds arbitrary bytes to the loader: it must never panic,
// whatever the input.
func FuzzLoad(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/bad/*" + FileSuffix)
	more, _ := filepath.Glob("../runbooks/*/*" + FileSuffix)
	for _, s := range append(seeds, more...) {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(b, "RUNBOOK_VAR_pfx_password=12345678")
		}
	}
	f.Add([]byte(`step "rotate_action" "a" { depends_on = [step.a] }`), "")
	f.Fuzz(func(t *testing.T, src []byte, envLine string) {
		fsys := fstest.MapFS{"main.runbook.hcl": {Data: src}}
		for _, validate := range []bool{false, true} {
			Load(fsys, ".", Options{
				Environ:   []string{envLine},
				PlanTime:  time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC),
				Validate:  validate,
				StepTypes: testStepTypes,
				Vars:      []VarArg{{File: "x.vars.hcl", Src: src}},
			})
		}
	})
}
