package main

import (
	"maps"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/runbook-dev/runbook/marks"
	"github.com/zclconf/go-cty/cty"
)

// sensitiveText is how a sensitive value prints, as in plans.
const sensitiveText = "(sensitive value)"

// minContained is the shortest secret whose occurrence inside a result
// value hides it: a shorter one (a test's "x") would hide facts by chance.
const minContained = 4

// knownSecrets returns the sensitive strings that this invocation knows
// (sensitive variables given a value, and what is derived from them: locals,
// hub and PEP credentials), from the runbook's evaluation context.
func knownSecrets(ctx *hcl.EvalContext) []string {
	var out []string
	for _, v := range ctx.Variables {
		collectSecrets(v, false, &out)
	}
	return out
}

func collectSecrets(v cty.Value, sensitive bool, out *[]string) {
	sensitive = sensitive || v.HasMark(marks.Sensitive)
	v, _ = v.Unmark()
	if !v.IsKnown() || v.IsNull() {
		return
	}
	ty := v.Type()
	switch {
	case ty == cty.String:
		if s := v.AsString(); sensitive && s != "" {
			*out = append(*out, s)
		}
	case ty.IsCollectionType() || ty.IsObjectType() || ty.IsTupleType():
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			collectSecrets(e, sensitive, out)
		}
	}
}

// redactResult returns result with every value that is, or holds, one of
// secrets replaced by nil, which prints as "(sensitive value)". A result
// holds only the keys its step type declares, none meant to be secret
// (fingerprints, hashes, ids, dates, the BMC user); this is the guard for a
// runbook that gave one of them a sensitive value.
func redactResult(result map[string]string, secrets []string) map[string]*string {
	if result == nil {
		return nil
	}
	out := make(map[string]*string, len(result))
	for k, v := range maps.All(result) {
		if isSecret(v, secrets) {
			out[k] = nil
			continue
		}
		out[k] = &v
	}
	return out
}

func isSecret(v string, secrets []string) bool {
	for _, s := range secrets {
		if v == s || len(s) >= minContained && strings.Contains(v, s) {
			return true
		}
	}
	return false
}
