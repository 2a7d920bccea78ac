package executor_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/runbook-dev/runbook/clock"
	"github.com/runbook-dev/runbook/executor"
	"github.com/runbook-dev/runbook/executor/plan"
	"github.com/runbook-dev/runbook/executor/render"
	"github.com/runbook-dev/runbook/executor/steptest"
	"github.com/runbook-dev/runbook/internal/gen"
	"github.com/runbook-dev/runbook/lang"
	"github.com/zclconf/go-cty/cty"
)

var planTime = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

func load(t testing.TB, src string, vars ...lang.VarArg) *lang.Runbook {
	t.Helper()
	rb, diags := lang.Load(fstest.MapFS{"main.runbook.hcl": {Data: []byte(src)}}, ".", lang.Options{
		PlanTime: planTime, StepTypes: []string{"test"}, Vars: vars,
	})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return rb
}

func planOf(t testing.TB, rb *lang.Runbook, typ *steptest.Type, mod func(*executor.PlanOptions)) (*executor.Planned, hcl.Diagnostics) {
	t.Helper()
	opts := executor.PlanOptions{
		Runbook: rb, Registry: executor.NewRegistry(typ), Clock: clock.NewFake(planTime),
		Key: []byte("k"), ToolVersion: "test",
	}
	if mod != nil {
		mod(&opts)
	}
	return executor.Plan(context.Background(), opts)
}

func TestPlanCycle(t *testing.T) {
	rb := load(t, `
step "test" "a" {
  depends_on = [step.c]
}
step "test" "b" {
  value = step.a.value
}
step "test" "c" {
  depends_on = [step.b]
}
`)
	_, diags := planOf(t, rb, &steptest.Type{}, nil)
	if !diags.HasErrors() {
		t.Fatal("a cycle was planned")
	}
	msg := diags.Error()
	if !strings.Contains(msg, "step.a → step.c → step.b → step.a") && !strings.Contains(msg, "step.a → step.b → step.c → step.a") {
		t.Errorf("the cycle is not named in order: %s", msg)
	}
}

func TestPlanOrderAndOutputs(t *testing.T) {
	rb := load(t, `
step "test" "b" {
  value = "b"
}
step "test" "a" {
  value = "a-${step.b.value}"
}
`)
	typ := &steptest.Type{
		PlanFn: func(ctx context.Context, req *executor.PlanRequest) *executor.PlanResponse {
			return &executor.PlanResponse{
				Action: plan.Run, Summary: "run", Before: cty.NullVal(cty.DynamicPseudoType), After: req.Config,
				Outputs: cty.ObjectVal(map[string]cty.Value{"value": req.Config.GetAttr("value")}),
			}
		},
	}
	p, diags := planOf(t, rb, typ, nil)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	var order []string
	for _, c := range p.Changes {
		order = append(order, c.Address)
	}
	if got := strings.Join(order, " "); got != "step.b step.a" {
		t.Errorf("order = %s, want dependencies first", got)
	}
	if got := p.Change("step.a").After.GetAttr("value").AsString(); got != "a-b" {
		t.Errorf("step.a saw value %q, want a-b", got)
	}
	if got := p.Change("step.a").DependsOn; len(got) != 1 || got[0] != "step.b" {
		t.Errorf("DependsOn = %v", got)
	}
}

func TestPlanSensitiveNeverShown(t *testing.T) {
	const canary = "canary-PlanSecret-9"
	rb := load(t, `
variable "pw" {
  type      = string
  sensitive = true
}
step "test" "a" {
  value  = "public"
  secret = var.pw
}
`, lang.VarArg{Name: "pw", Value: canary})
	p, diags := planOf(t, rb, &steptest.Type{}, nil)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	var out bytes.Buffer
	for _, r := range []func() error{
		func() error { return render.Text(&out, p.Plan, render.Options{}) },
		func() error { return render.JSON(&out, p.Plan) },
		func() error { return render.Markdown(&out, p.Plan) },
	} {
		if err := r(); err != nil {
			t.Fatal(err)
		}
	}
	saved, err := plan.Encode(p.Plan, []byte("k"))
	if err != nil {
		t.Fatal(err)
	}
	out.Write(saved)
	if bytes.Contains(out.Bytes(), []byte(canary)) {
		t.Fatal("the sensitive canary appears in a rendering or the saved plan")
	}
	if !bytes.Contains(out.Bytes(), []byte("secret = (sensitive value)")) {
		t.Error("the sensitive attribute is not shown as (sensitive value)")
	}
	if p.Inputs[0].Fingerprint == "" || p.Inputs[0].Value != cty.NilVal {
		t.Errorf("sensitive input = %+v, want a fingerprint and no value", p.Inputs[0])
	}
}

func TestPlanPoliciesAndConditions(t *testing.T) {
	tests := map[string]struct {
		src       string
		wantErr   string
		wantCheck string
	}{
		"policy passes": {
			src:       "policy \"p\" {\ncondition = step.a.value == \"x\"\nerror_message = \"no\"\n}",
			wantCheck: "passed",
		},
		"policy fails": {
			src:     "policy \"p\" {\ncondition = step.a.value == \"y\"\nerror_message = \"value must be y\"\n}",
			wantErr: `Policy "p" failed; value must be y`,
		},
		"policy deferred": {
			src:       "policy \"p\" {\ncondition = step.a.later == \"y\"\nerror_message = \"no\"\n}",
			wantCheck: "deferred",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			rb := load(t, `
step "test" "a" {
  value = "x"
  precondition {
    condition     = true
    error_message = "never"
  }
}
`+tc.src)
			typ := &steptest.Type{
				OutputType: cty.Object(map[string]cty.Type{"value": cty.String, "later": cty.String}),
				PlanFn: func(ctx context.Context, req *executor.PlanRequest) *executor.PlanResponse {
					return &executor.PlanResponse{Action: plan.Run, Summary: "run", After: req.Config,
						Outputs: cty.ObjectVal(map[string]cty.Value{"value": req.Config.GetAttr("value"), "later": cty.UnknownVal(cty.String)})}
				},
			}
			p, diags := planOf(t, rb, typ, nil)
			if tc.wantErr != "" {
				if !strings.Contains(diags.Error(), tc.wantErr) {
					t.Fatalf("diagnostics %q, want %q", diags.Error(), tc.wantErr)
				}
				return
			}
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			if len(p.Checks) != 1 || p.Checks[0].Result != tc.wantCheck {
				t.Fatalf("checks = %+v, want one %s", p.Checks, tc.wantCheck)
			}
		})
	}
}

func TestPlanPreconditionFails(t *testing.T) {
	rb := load(t, `
variable "days" {
  default = 10
}
step "test" "a" {
  precondition {
    condition     = var.days > 30
    error_message = "Too few days."
  }
}
`)
	_, diags := planOf(t, rb, &steptest.Type{}, nil)
	if !strings.Contains(diags.Error(), "Precondition of step.a failed; Too few days.") {
		t.Fatalf("diagnostics = %v", diags)
	}
	if diags[0].Subject == nil || diags[0].Subject.Start.Line != 7 {
		t.Errorf("subject = %v, want line 7", diags[0].Subject)
	}
}

func TestPlanTargets(t *testing.T) {
	rb := load(t, `
step "test" "a" {}
step "test" "b" {
  depends_on = [step.a]
}
step "test" "c" {}
`)
	p, diags := planOf(t, rb, &steptest.Type{}, func(o *executor.PlanOptions) { o.Targets = []string{"step.b"} })
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	got := map[string]plan.Action{}
	for _, c := range p.Changes {
		got[c.Address] = c.Action
	}
	want := map[string]plan.Action{"step.a": plan.Run, "step.b": plan.Run, "step.c": plan.Skip}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: action %c, want %c", k, got[k], v)
		}
	}
	_, diags = planOf(t, rb, &steptest.Type{}, func(o *executor.PlanOptions) { o.Targets = []string{"step.zz"} })
	if !strings.Contains(diags.Error(), "There is no step step.zz") {
		t.Errorf("bad target: %v", diags)
	}
}

func TestPlanWindowFit(t *testing.T) {
	const src = `
window "w" {
  start    = "2026-11-23T09:00:00Z"
  duration = "%s"
}
step "test" "long" {
  expected_duration = "4h"
}
`
	tests := map[string]struct {
		duration string
		fits     bool
		spare    time.Duration
	}{
		"fits":         {"6h", true, time.Hour},
		"does not fit": {"4h", false, -time.Hour},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p, diags := planOf(t, load(t, fmt.Sprintf(src, tc.duration)), &steptest.Type{}, nil)
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			if p.Window == nil || p.Window.Fits != tc.fits || p.Window.Spare != tc.spare || !p.Window.OpenNow {
				t.Fatalf("window = %+v, want fits=%v spare=%v", p.Window, tc.fits, tc.spare)
			}
			if p.CriticalPath != 4*time.Hour {
				t.Errorf("critical path = %v", p.CriticalPath)
			}
		})
	}
}

func BenchmarkPlan(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		for _, shape := range gen.Shapes {
			src := gen.Runbook(gen.Options{Shape: shape, Steps: n})
			b.Run(fmt.Sprintf("%s/%d", shape, n), func(b *testing.B) {
				typ := &steptest.Type{}
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					// End to end from the file's bytes: parse, decode,
					// graph, plan every step and render.
					rb := load(b, src)
					p, diags := planOf(b, rb, typ, nil)
					if diags.HasErrors() || len(p.Changes) != n {
						b.Fatal(diags)
					}
					if err := render.Text(&bytes.Buffer{}, p.Plan, render.Options{}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func fsMap(src string) fstest.MapFS {
	return fstest.MapFS{"main.runbook.hcl": {Data: []byte(src)}}
}
