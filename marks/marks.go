// Package marks holds the cty value marks runbook puts on values. It is a
// leaf, so that the plan model and its renderers can recognise a sensitive
// value without importing the language that marks it.
package marks

// valueMark is the type of runbook's cty marks.
type valueMark string

// GoString names the mark as its package does.
func (m valueMark) GoString() string { return "marks." + string(m) }

// Sensitive marks a value that must never be shown: renderers print
// "(sensitive value)" in its place. cty carries marks through every
// operation and function call.
const Sensitive = valueMark("sensitive")
