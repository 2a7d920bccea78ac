package lang

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"testing/fstest"
)

// localsSource is a runbook of n locals, each built from the one before,
// so that they must be evaluated in dependency order.
func localsSource(n int) []byte {
	var b strings.Builder
	b.WriteString("locals {\n  l0 = 0\n")
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, "  l%d = local.l%d + 1\n", i, i-1)
	}
	b.WriteString("}\n")
	return []byte(b.String())
}

// BenchmarkLocals loads (and so evaluates) runbooks of 1k, 10k and 20k
// locals: the time per local must stay flat.
func BenchmarkLocals(b *testing.B) {
	for _, n := range []int{1000, 10000, 20000} {
		fsys := fstest.MapFS{"main.runbook.hcl": {Data: localsSource(n)}}
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			for b.Loop() {
				if _, diags := Load(fsys, ".", Options{Validate: true}); diags.HasErrors() {
					b.Fatal(diags)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/local")
		})
	}
}

// allocBytes returns the bytes allocated by loading a runbook of n locals.
func allocBytes(t *testing.T, n int) uint64 {
	fsys := fstest.MapFS{"main.runbook.hcl": {Data: localsSource(n)}}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	if _, diags := Load(fsys, ".", Options{Validate: true}); diags.HasErrors() {
		t.Fatal(diags)
	}
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// Loading locals costs memory (and time) linear in their number: four times
// the locals may not cost much more than four times the bytes. (Evaluating
// each local with an object of every local before it was quadratic: 20,000
// locals took minutes.) Bytes allocated, unlike time, do not depend on the
// machine's load.
func TestLocalsLinear(t *testing.T) {
	small, large := allocBytes(t, 500), allocBytes(t, 2000)
	if ratio := float64(large) / float64(small); ratio > 6 {
		t.Errorf("500 locals allocate %d bytes, 2000 allocate %d: %.1f times as much, want about 4", small, large, ratio)
	}
}
