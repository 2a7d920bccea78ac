// Package addrs holds the typed addresses of the things a runbook declares,
// after Terraform's internal/addrs: an address is a value with a String
// form ("step.rotate"), so that code passes addresses around rather than
// building and cutting strings.
package addrs

import (
	"fmt"
	"strings"
)

// stepPrefix is the first part of every step address.
const stepPrefix = "step."

// Step is the address of a step block, step.NAME.
type Step struct {
	Name string
}

// StepOf returns the address of the step called name.
func StepOf(name string) Step { return Step{Name: name} }

// String returns the address as written in expressions and shown to the
// user: step.NAME.
func (s Step) String() string { return stepPrefix + s.Name }

// ParseStep parses an address of the form step.NAME.
func ParseStep(s string) (Step, error) {
	name, ok := strings.CutPrefix(s, stepPrefix)
	if !ok || name == "" || strings.Contains(name, ".") {
		return Step{}, fmt.Errorf("%q is not a step address (want step.NAME)", s)
	}
	return Step{Name: name}, nil
}

// MustParseStep is ParseStep for addresses the program made itself (the
// vertices of the step graph): a malformed one is a programming error and
// panics.
func MustParseStep(s string) Step {
	a, err := ParseStep(s)
	if err != nil {
		panic("addrs: " + err.Error())
	}
	return a
}
