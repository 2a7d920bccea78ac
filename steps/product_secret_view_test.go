package steps

import (
	"encoding/json"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/runbook-dev/runbook/executor"
	"github.com/runbook-dev/runbook/executor/plan"
	"github.com/runbook-dev/runbook/lang"
	"github.com/zclconf/go-cty/cty"
)

// plainValue turns a value into plain Go data for comparison and leak checks:
// sensitive values become "(sensitive value)", unknown ones "(known after
// apply)".
func plainValue(v cty.Value) any {
	if v == cty.NilVal {
		return "(nil)"
	}
	if v.IsMarked() {
		if v.HasMark(lang.Sensitive) {
			return "(sensitive value)"
		}
		v, _ = v.Unmark()
	}
	switch {
	case !v.IsKnown():
		return "(known after apply)"
	case v.IsNull():
		return nil
	}
	t := v.Type()
	switch {
	case t == cty.String:
		return v.AsString()
	case t == cty.Number:
		return v.AsBigFloat().String()
	case t == cty.Bool:
		return v.True()
	case t.IsObjectType() || t.IsMapType():
		m := map[string]any{}
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			m[k.AsString()] = plainValue(e)
		}
		return m
	case t.IsListType() || t.IsSetType() || t.IsTupleType():
		var l []any
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			l = append(l, plainValue(e))
		}
		return l
	}
	return v.GoString()
}

// diagLines describes diagnostics as "severity: summary @ source" where
// source is the text of the subject range, and checks their details for
// leaks.
func (f *fixture) diagLines(diags hcl.Diagnostics) []string {
	f.t.Helper()
	var out []string
	for _, d := range diags {
		sev := "error"
		if d.Severity == hcl.DiagWarning {
			sev = "warning"
		}
		src := "(no subject)"
		if d.Subject != nil {
			if file := f.rb.Files[d.Subject.Filename]; file != nil {
				src = string(d.Subject.SliceBytes(file.Bytes))
			}
		}
		line := sev + ": " + d.Summary + " @ " + src
		if strings.Contains(src, "\n") {
			line = sev + ": " + d.Summary + " @ " + strings.SplitN(src, "\n", 2)[0]
		}
		out = append(out, line)
		assertNoLeak(f.t, "diagnostic", d.Summary, d.Detail)
		if d.Detail == "" {
			f.t.Errorf("diagnostic %q has no detail", d.Summary)
		}
	}
	return out
}

// planView is what a test compares of a PlanResponse.
type planView struct {
	Action                  string
	Summary, Reason, Remote string
	Diags                   []string
	Before, After, Outputs  any
	Private, Fingerprints   map[string]string
	Files                   []string
}

func (f *fixture) view(resp *executor.PlanResponse) planView {
	f.t.Helper()
	v := planView{
		Action: resp.Action.String(), Summary: resp.Summary, Reason: resp.Reason, Remote: resp.Remote,
		Diags: f.diagLines(resp.Diagnostics), Private: resp.Private, Fingerprints: resp.Fingerprints, Files: resp.Files,
	}
	if !resp.Diagnostics.HasErrors() {
		v.Before, v.After, v.Outputs = plainValue(resp.Before), plainValue(resp.After), plainValue(resp.Outputs)
	}
	b, err := json.Marshal(v)
	if err != nil {
		f.t.Fatal(err)
	}
	assertNoLeak(f.t, "plan response", string(b), resp.Before.GoString(), resp.Outputs.GoString())
	return v
}

func (f *fixture) applyRequest(t executor.StepType, name string, planned *executor.PlanResponse, progress func(executor.Progress)) *executor.ApplyRequest {
	cfg, _ := f.config(t, name)
	s := f.rb.Steps[name]
	req := &executor.ApplyRequest{
		Address: s.Address(), Step: s, Config: cfg, Runbook: f.rb, Clock: f.clk,
		Attempt: 1, Progress: progress, Fingerprint: f.fingerprint,
		Handle: func(string) error { return nil },
	}
	if planned != nil {
		req.Planned = &plan.Change{
			Address: req.Address.String(), Action: planned.Action, Private: planned.Private,
			Fingerprints: planned.Fingerprints, Remote: planned.Remote,
		}
	}
	return req
}

// checkApply checks an apply response for leaks.
func (f *fixture) checkApply(ar *executor.ApplyResponse) {
	f.t.Helper()
	b, _ := json.Marshal(ar.Result)
	var errText string
	if ar.Err != nil {
		errText = ar.Err.Error()
	}
	assertNoLeak(f.t, "apply response", string(b), errText, ar.Outputs.GoString())
}
