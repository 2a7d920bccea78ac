package main

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
	"github.com/runbook-dev/runbook/addrs"
	"github.com/runbook-dev/runbook/marks"
	"github.com/runbook-dev/runbook/state"
	"github.com/zclconf/go-cty/cty"
)

var (
	at      = time.Date(2026, 11, 28, 23, 0, 0, 0, time.UTC)
	bmcDone = &state.History{LastSuccess: map[string]string{"fingerprint": "hmac-sha256:ab", "user": "bmcadmin"}, LastSuccessAt: at.Add(time.Minute)}
	running = &state.History{InFlight: true, Handle: "https://adminmanagement.local/ops/1"}
)

func TestWriteStateList(t *testing.T) {
	tests := map[string]struct {
		view stateView
		want string
	}{
		"no history": {
			view: stateView{Backend: "local rb/.runbook", Steps: state.Histories{}},
			want: "No history: no apply has recorded a step yet.\nState in local rb/.runbook; no run yet.\n",
		},
		"sorted, one in flight": {
			view: stateView{Backend: "azurerm acct/c/east", Steps: state.Histories{
				addrs.StepOf("rotate"): running,
				addrs.StepOf("bmc"):    bmcDone,
			}, Latest: latestRun{ID: "r2", Status: "unfinished", Started: at, User: "ops"}},
			want: "STEP         LAST SUCCESS          IN FLIGHT\n" +
				"step.bmc     2026-11-28T23:01:00Z  -\n" +
				"step.rotate  never                 in flight (run r2)\n" +
				"State in azurerm acct/c/east; latest run r2, unfinished, started 2026-11-28T23:00:00Z by ops.\n",
		},
		"control characters quoted": {
			view: stateView{Backend: "b", Steps: state.Histories{addrs.StepOf("x\x1b[2J"): bmcDone},
				Latest: latestRun{ID: "r1", Status: "succeeded"}},
			want: "STEP             LAST SUCCESS          IN FLIGHT\n" +
				"\"step.x\\x1b[2J\"  2026-11-28T23:01:00Z  -\n" +
				"State in b; latest run r1, succeeded.\n",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			writeStateList(&b, tc.view)
			if d := cmp.Diff(tc.want, b.String()); d != "" {
				t.Errorf("(-want +got)\n%s", d)
			}
		})
	}
}

func TestWriteStateShow(t *testing.T) {
	tests := map[string]struct {
		h       *state.History
		latest  string
		secrets []string
		want    string
	}{
		"succeeded": {
			h: bmcDone,
			want: "# step.s\nlast success: 2026-11-28T23:01:00Z\nresult:\n" +
				"  fingerprint = \"hmac-sha256:ab\"\n  user        = \"bmcadmin\"\nin flight: no\n",
		},
		"no result keys": {
			h:    &state.History{LastSuccess: map[string]string{}, LastSuccessAt: at},
			want: "# step.s\nlast success: 2026-11-28T23:00:00Z\nresult: (none: the step type keeps no result)\nin flight: no\n",
		},
		"in flight with a handle": {
			h:      running,
			latest: "r2",
			want: "# step.s\nlast success: never\n" +
				"in flight: yes, left running by run r2, handle \"https://adminmanagement.local/ops/1\"; " +
				"the next apply resumes that run and re-attaches to the step rather than start it again\n",
		},
		"a sensitive value is hidden": {
			h:       &state.History{LastSuccess: map[string]string{"user": "Canary-User", "fingerprint": "hmac-sha256:ab", "note": "for Canary-User@x"}, LastSuccessAt: at},
			secrets: []string{"Canary-User", "ab"},
			want: "# step.s\nlast success: 2026-11-28T23:00:00Z\nresult:\n  fingerprint = \"hmac-sha256:ab\"\n" +
				"  note        = (sensitive value)\n  user        = (sensitive value)\nin flight: no\n",
		},
		"a value is quoted": {
			h:    &state.History{LastSuccess: map[string]string{"status": "ok\n\x1b[31m"}, LastSuccessAt: at},
			want: "# step.s\nlast success: 2026-11-28T23:00:00Z\nresult:\n  status = \"ok\\n\\x1b[31m\"\nin flight: no\n",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			writeStateShow(&b, addrs.StepOf("s"), tc.h, tc.latest, tc.secrets)
			if d := cmp.Diff(tc.want, b.String()); d != "" {
				t.Errorf("(-want +got)\n%s", d)
			}
		})
	}
}

func TestStateJSON(t *testing.T) {
	v := stateView{Backend: "b", Steps: state.Histories{addrs.StepOf("bmc"): bmcDone, addrs.StepOf("rotate"): running},
		Latest: latestRun{ID: "r2", Status: "unfinished", Started: at.In(time.FixedZone("x", 3600))}}
	tests := map[string]struct {
		got  any
		want string
	}{
		"list": {
			got: stateListJSONOf(v),
			want: `{"backend":"b","latest_run":{"id":"r2","status":"unfinished","started":"2026-11-28T23:00:00Z"},"steps":[` +
				`{"address":"step.bmc","last_success":"2026-11-28T23:01:00Z","in_flight":false},` +
				`{"address":"step.rotate","in_flight":true,"run":"r2","handle":"https://adminmanagement.local/ops/1"}]}`,
		},
		"empty list": {
			got:  stateListJSONOf(stateView{Backend: "b", Steps: state.Histories{}}),
			want: `{"backend":"b","steps":[]}`,
		},
		"show": {
			got:  stateShowJSONOf(addrs.StepOf("bmc"), bmcDone, "r2", nil),
			want: `{"address":"step.bmc","last_success":"2026-11-28T23:01:00Z","result":{"fingerprint":"hmac-sha256:ab","user":"bmcadmin"},"in_flight":false}`,
		},
		"show, user sensitive": {
			got:  stateShowJSONOf(addrs.StepOf("bmc"), bmcDone, "r2", []string{"bmcadmin"}),
			want: `{"address":"step.bmc","last_success":"2026-11-28T23:01:00Z","result":{"fingerprint":"hmac-sha256:ab","user":null},"in_flight":false}`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			b, err := json.Marshal(tc.got)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, string(b)); d != "" {
				t.Errorf("(-want +got)\n%s", d)
			}
		})
	}
}

func TestKnownSecrets(t *testing.T) {
	secret := cty.StringVal("Canary-1").Mark(marks.Sensitive)
	tests := map[string]struct {
		vars map[string]cty.Value
		want []string
	}{
		"none":       {map[string]cty.Value{"var": cty.ObjectVal(map[string]cty.Value{"a": cty.StringVal("x")})}, nil},
		"a variable": {map[string]cty.Value{"var": cty.ObjectVal(map[string]cty.Value{"a": cty.StringVal("x"), "p": secret})}, []string{"Canary-1"}},
		"inside an object marked whole": {map[string]cty.Value{"pep": cty.ObjectVal(map[string]cty.Value{
			"l": cty.ObjectVal(map[string]cty.Value{"password": cty.StringVal("Canary-2"), "n": cty.NumberIntVal(1)}).Mark(marks.Sensitive)})}, []string{"Canary-2"}},
		"unknown and null": {map[string]cty.Value{"var": cty.ObjectVal(map[string]cty.Value{
			"u": cty.UnknownVal(cty.String).Mark(marks.Sensitive), "n": cty.NullVal(cty.String).Mark(marks.Sensitive), "e": cty.StringVal("").Mark(marks.Sensitive)})}, nil},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := knownSecrets(&hcl.EvalContext{Variables: tc.vars})
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("(-want +got)\n%s", d)
			}
		})
	}
}
