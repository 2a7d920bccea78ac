// Package lang is the runbook language: it loads *.runbook.hcl files into a
// typed model (*Runbook) and reports every fault as an hcl.Diagnostic with
// the tightest source range it can find.
//
// lang only parses, decodes and evaluates what can be known before talking to
// a stamp: variables (from defaults, RUNBOOK_VAR_name, -var-file and -var),
// locals, the hub and pep connection blocks, windows, policies and the common
// attributes of steps. It reads files through an fs.FS, takes the
// environment and the plan timestamp from its caller, and never touches the
// network or the clock.
//
// Step bodies stay hcl.Body: each step type decodes its own body with its own
// schema (the Packer ConfigSpec pattern) in the executor, with the
// hcl.EvalContext that EvalContext builds. lang does check every reference in
// every expression, so a typo in var.x, local.x, hub.x, pep.x or step.x is
// reported at load time, with a "did you mean" suggestion where one is close.
//
// Sensitive values (sensitive variables, sensitive(...) and env(...)) carry
// cty's mark Sensitive through every expression; renderers print them as
// "(sensitive value)".
package lang
