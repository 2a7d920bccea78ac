// Package plan is the plan model: pure data describing what an apply will
// do, with a JSON form for saved plan files.
//
// A Plan holds one Change per step in topological order (ties broken by
// address), the results of policies and conditions, how the critical path
// fits the change window, and the commitments (file hashes, input values and
// HMAC fingerprints of sensitive inputs) that let apply prove it runs
// exactly what was reviewed.
//
// Sensitive values keep cty's marks.Sensitive mark in memory. In the saved
// form a sensitive value is never written: it is replaced by null and its
// path recorded, so that loading restores the mark and every renderer prints
// "(sensitive value)". Unknown values ("known after apply") are handled the
// same way.
package plan
