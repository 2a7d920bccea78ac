package plan

import (
	"strings"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"
)

func TestCheckExpiry(t *testing.T) {
	exp := time.Date(2026, 3, 8, 10, 0, 0, 0, time.UTC)
	saved := &Plan{ID: "p1", ExpiresAt: exp}
	tests := map[string]struct {
		now  time.Time
		want string
	}{
		"before":  {now: exp.Add(-time.Hour)},
		"at":      {now: exp},
		"expired": {now: exp.Add(time.Second), want: "plan p1 expired at 2026-03-08T10:00:00Z; make a new plan"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			checkErr(t, CheckExpiry(saved, tc.now), tc.want)
		})
	}
}

func TestCheckSources(t *testing.T) {
	saved := &Plan{
		ID:      "p1",
		Runbook: Runbook{Files: []File{{Name: "main.runbook.hcl", SHA256: "aa"}, {Name: "certs.runbook.hcl", SHA256: "bb"}}},
		Inputs: []Input{
			{Name: "region", Value: cty.StringVal("east")},
			{Name: "pfx_password", Sensitive: true, Fingerprint: "f1"},
			{Name: "note", Value: cty.NilVal},
		},
	}
	files := []File{{Name: "main.runbook.hcl", SHA256: "aa"}, {Name: "certs.runbook.hcl", SHA256: "bb"}}
	inputs := []Input{
		{Name: "region", Value: cty.StringVal("east")},
		{Name: "pfx_password", Sensitive: true, Fingerprint: "f1"},
		{Name: "note", Value: cty.StringVal("anything")},
	}
	with := func(base []Input, i int, in Input) []Input {
		out := append([]Input(nil), base...)
		out[i] = in
		return out
	}
	tests := map[string]struct {
		files  []File
		inputs []Input
		want   string
	}{
		"unchanged": {files: files, inputs: inputs},
		"file gone": {files: files[:1], inputs: inputs,
			want: "certs.runbook.hcl was part of the plan but is gone; make a new plan"},
		"file changed": {files: []File{files[0], {Name: "certs.runbook.hcl", SHA256: "cc"}}, inputs: inputs,
			want: "certs.runbook.hcl changed since the plan was made; make a new plan"},
		"file new": {files: append(append([]File(nil), files...), File{Name: "extra.runbook.hcl", SHA256: "dd"}), inputs: inputs,
			want: "extra.runbook.hcl is new since the plan was made; make a new plan"},
		"variable gone": {files: files, inputs: inputs[1:],
			want: `variable "region" was part of the plan but is no longer declared`},
		"value changed": {files: files, inputs: with(inputs, 0, Input{Name: "region", Value: cty.StringVal("west")}),
			want: `the value of variable "region" differs from the one planned`},
		"secret changed": {files: files, inputs: with(inputs, 1, Input{Name: "pfx_password", Sensitive: true, Fingerprint: "f2"}),
			want: `the value of sensitive variable "pfx_password" differs from the one planned; give the same value (it is compared by fingerprint) or make a new plan`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			checkErr(t, CheckSources(saved, tc.files, tc.inputs), tc.want)
		})
	}
}

func TestVerify(t *testing.T) {
	change := func(addr string, a Action, remote string, fps map[string]string) *Change {
		return &Change{Address: addr, Action: a, Remote: remote, Fingerprints: fps}
	}
	saved := &Plan{Changes: []*Change{
		change("step.cert", Update, "etag-1", map[string]string{"pfx_file": "aa"}),
		change("step.rotate", Run, "", nil),
	}}
	tests := map[string]struct {
		fresh []*Change
		want  string
	}{
		"same": {fresh: []*Change{
			change("step.rotate", Run, "", map[string]string{}),
			change("step.cert", Update, "etag-1", map[string]string{"pfx_file": "aa"}),
		}},
		"step added": {fresh: append(append([]*Change(nil), saved.Changes...), change("step.more", Run, "", nil)),
			want: "it now has 3 steps, the plan 2"},
		"step renamed": {fresh: []*Change{change("step.cert2", Update, "etag-1", nil), saved.Changes[1]},
			want: "step.cert is no longer in the runbook"},
		"action differs": {fresh: []*Change{change("step.cert", NoOp, "etag-1", map[string]string{"pfx_file": "aa"}), saved.Changes[1]},
			want: "step.cert would now no-op (=), the plan said update (~)"},
		"remote differs": {fresh: []*Change{change("step.cert", Update, "etag-2", map[string]string{"pfx_file": "aa"}), saved.Changes[1]},
			want: "step.cert: the stamp's state is not what the plan read"},
		"inputs differ": {fresh: []*Change{change("step.cert", Update, "etag-1", map[string]string{"pfx_file": "bb"}), saved.Changes[1]},
			want: "step.cert: its inputs (files or secrets) changed since the plan"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			checkErr(t, Verify(saved, &Plan{Changes: tc.fresh}), tc.want)
		})
	}
}

// checkErr fails t unless err is nil and want "", or err says want.
func checkErr(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Errorf("error %q, want none", err)
	case want != "" && err == nil:
		t.Errorf("no error, want %q", want)
	case want != "" && !strings.Contains(err.Error(), want):
		t.Errorf("error %q, want %q", err, want)
	}
}
