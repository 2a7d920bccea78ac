// Package gen generates runbooks of many steps for tests and benchmarks, in
// three shapes: a chain (each step depends on the one before), wide (no
// dependencies) and layered (layers of ten steps, each depending on three
// steps of the layer before).
package gen

import (
	"fmt"
	"strings"

	"github.com/runbook-dev/runbook/addrs"
)

// Shape is the form of the dependency graph.
type Shape string

// The shapes.
const (
	Chain   Shape = "chain"
	Wide    Shape = "wide"
	Layered Shape = "layered"
)

// Shapes lists every shape.
var Shapes = []Shape{Chain, Wide, Layered}

// Options describe a generated runbook.
type Options struct {
	Shape Shape
	Steps int
	// StepType is the type of every step ("test" when empty).
	StepType string
	// Body is written into every step block; %d is replaced by the step
	// number. Empty writes value = "v%d".
	Body string
	// Header is written before the steps (variables, hubs, windows).
	Header string
	// LayerWidth is the width of a layer for Layered (10 when zero).
	LayerWidth int
}

// Name returns the name of step i.
func Name(i int) string { return fmt.Sprintf("s%05d", i) }

// Runbook returns the text of the generated runbook.
func Runbook(o Options) string {
	if o.StepType == "" {
		o.StepType = "test"
	}
	if o.Body == "" {
		o.Body = `value = "v%d"`
	}
	if o.LayerWidth <= 0 {
		o.LayerWidth = 10
	}
	var b strings.Builder
	b.Grow(o.Steps * 120)
	b.WriteString(o.Header)
	for i := 0; i < o.Steps; i++ {
		fmt.Fprintf(&b, "step %q %q {\n  %s\n", o.StepType, Name(i), strings.ReplaceAll(o.Body, "%d", fmt.Sprint(i)))
		if deps := Dependencies(o, i); len(deps) > 0 {
			refs := make([]string, len(deps))
			for j, d := range deps {
				refs[j] = addrs.StepOf(Name(d)).String()
			}
			fmt.Fprintf(&b, "  depends_on = [%s]\n", strings.Join(refs, ", "))
		}
		b.WriteString("}\n\n")
	}
	return b.String()
}

// Dependencies returns the step numbers step i depends on.
func Dependencies(o Options, i int) []int {
	w := o.LayerWidth
	if w <= 0 {
		w = 10
	}
	switch o.Shape {
	case Chain:
		if i > 0 {
			return []int{i - 1}
		}
	case Layered:
		layer := i / w
		if layer == 0 {
			return nil
		}
		prev := (layer - 1) * w
		pos := i % w
		var deps []int
		for k := 0; k < 3; k++ {
			deps = append(deps, prev+(pos+k)%w)
		}
		return deps
	}
	return nil
}
