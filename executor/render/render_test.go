package render

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/runbook-dev/runbook/executor/plan"
	"github.com/runbook-dev/runbook/lang"
	"github.com/zclconf/go-cty/cty"
)

var update = flag.Bool("update", false, "rewrite the golden files")

const canary = "canary-Secret-42"

// samplePlan has a sensitive value in every position a value can take: a
// top-level attribute, inside an object, a list element, a whole object,
// and both sides of a change.
func samplePlan() *plan.Plan {
	s := func(v cty.Value) cty.Value { return v.Mark(lang.Sensitive) }
	created := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	open := time.Date(2026, 11, 28, 22, 0, 0, 0, time.UTC)
	return &plan.Plan{
		ID: "0123456789abcdef0123456789abcdef", ToolVersion: "test", CreatedAt: created, ExpiresAt: created.Add(7 * 24 * time.Hour),
		Runbook: plan.Runbook{Dir: "runbooks/stamp", Description: "Rotate <all> | the *secrets*",
			Owner: "azs-operators@contoso.com",
			Files: []plan.File{{Name: "runbooks/stamp/main.runbook.hcl", SHA256: "ab12"}},
			Endpoints: []plan.Endpoint{
				{Block: "hub.east", Address: "https://adminmanagement.east.contoso.com"},
				{Block: "pep.east", Address: "10.0.0.224, 10.0.0.225"},
			}},
		Inputs: []plan.Input{
			{Name: "pfx_password", Sensitive: true, Fingerprint: "hmac-sha256:ff", Source: "-var"},
			{Name: "days", Value: cty.NumberIntVal(180), Source: "default"},
		},
		Changes: []*plan.Change{
			{
				Address: "step.eventhub_cert", Type: "product_secret", Name: "eventhub_cert", Action: plan.Update,
				Summary: "import a new certificate",
				Before: cty.ObjectVal(map[string]cty.Value{
					"secret_name":  cty.StringVal("aseh-ssl-gateway-pfx"),
					"expires":      cty.StringVal("2026-12-20T00:00:00Z"),
					"status":       cty.StringVal("Deployed"),
					"pfx_password": s(cty.StringVal(canary + "-old")),
					"certificate":  cty.NullVal(cty.Object(map[string]cty.Type{"sha256": cty.String})),
				}),
				After: cty.ObjectVal(map[string]cty.Value{
					"secret_name":  cty.StringVal("aseh-ssl-gateway-pfx"),
					"expires":      cty.StringVal("2028-11-01T00:00:00Z"),
					"status":       cty.StringVal("Uploaded"),
					"pfx_password": s(cty.StringVal(canary)),
					"certificate": cty.ObjectVal(map[string]cty.Value{
						"sha256":    cty.StringVal("3F2A9C"),
						"sans":      cty.ListVal([]cty.Value{cty.StringVal("*.eventhub.local.azurestack.external"), s(cty.StringVal(canary))}),
						"days_left": cty.NumberIntVal(708),
						"key":       s(cty.ObjectVal(map[string]cty.Value{"pem": cty.StringVal(canary)})),
					}),
				}),
				ExpectedDuration: time.Minute,
				Fingerprints:     map[string]string{"pfx_sha256": "abcd"},
			},
			{
				Address: "step.eventhub", Type: "rotate_action", Name: "eventhub", Action: plan.Run,
				Summary: "rotate the secrets of microsoft.eventhub (about 4h)", DependsOn: []string{"step.eventhub_cert"},
				Before: cty.NullVal(cty.DynamicPseudoType),
				After: cty.ObjectVal(map[string]cty.Value{
					"product_id": cty.StringVal("microsoft.eventhub"),
					"operation":  cty.UnknownVal(cty.String),
				}),
				ExpectedDuration: 4 * time.Hour,
			},
			{
				Address: "step.bmc", Type: "bmc_password", Name: "bmc", Action: plan.NoOp,
				Reason: "the password set last time has the same fingerprint",
				Before: s(cty.StringVal(canary)), After: s(cty.StringVal(canary)),
			},
			{Address: "step.other", Type: "rotate_action", Name: "other", Action: plan.Skip, Reason: "not targeted",
				Before: cty.NullVal(cty.DynamicPseudoType), After: cty.NullVal(cty.DynamicPseudoType)},
		},
		Checks: []plan.Check{
			{Address: "policy.validity", Result: "passed", Range: "main.runbook.hcl:90,1-30"},
			{Address: "policy.later", Result: "deferred", Range: "main.runbook.hcl:95,1-30"},
			{Address: "step.eventhub.precondition[0]", Result: "failed", Message: "The <old> certificate expires first.",
				Range: "main.runbook.hcl:40,3-15", Steps: []string{"step.eventhub"}},
		},
		Window:       &plan.WindowFit{Name: "saturday", Open: open, Close: open.Add(8 * time.Hour), Fits: true, Spare: 3*time.Hour + 59*time.Minute},
		CriticalPath: 4*time.Hour + time.Minute,
		Warnings:     []string{"policy.later depends on values known only after apply; it will be checked then."},
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s (-want +got):\n%s", name, diff)
	}
}

func TestRenderers(t *testing.T) {
	tests := map[string]func(*bytes.Buffer, *plan.Plan) error{
		"plan.txt":       func(b *bytes.Buffer, p *plan.Plan) error { return Text(b, p, Options{}) },
		"plan_color.txt": func(b *bytes.Buffer, p *plan.Plan) error { return Text(b, p, Options{Color: true}) },
		"plan.json":      func(b *bytes.Buffer, p *plan.Plan) error { return JSON(b, p) },
		"plan.md":        func(b *bytes.Buffer, p *plan.Plan) error { return Markdown(b, p) },
	}
	for name, render := range tests {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			if err := render(&b, samplePlan()); err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(b.Bytes(), []byte(canary)) {
				t.Fatalf("%s shows the sensitive canary value", name)
			}
			if !bytes.Contains(b.Bytes(), []byte("sensitive")) {
				t.Errorf("%s does not mention the sensitive values at all", name)
			}
			golden(t, name, b.Bytes())
		})
	}
}

func TestMarkdownEscapes(t *testing.T) {
	var b bytes.Buffer
	if err := Markdown(&b, samplePlan()); err != nil {
		t.Fatal(err)
	}
	head, _, _ := strings.Cut(b.String(), "<details>")
	if strings.Contains(head, "<all>") || strings.Contains(head, "| the *secrets*") {
		t.Errorf("description not escaped:\n%s", head)
	}
}

func TestFailedCheckMarkedAtStep(t *testing.T) {
	var b bytes.Buffer
	if err := Text(&b, samplePlan(), Options{}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	step := strings.Index(out, "# step.eventhub (rotate_action)")
	mark := strings.Index(out, "✗ step.eventhub.precondition[0] failed here: The <old> certificate expires first.")
	next := strings.Index(out, "# step.bmc")
	if step < 0 || mark < step || mark > next {
		t.Errorf("the failed precondition is not marked under its step:\n%s", out)
	}
	if !strings.Contains(out, "✗ check failed") {
		t.Errorf("the legend does not explain ✗:\n%s", out)
	}
}

func TestDuration(t *testing.T) {
	tests := map[time.Duration]string{
		4 * time.Hour: "4h", 4*time.Hour + 5*time.Minute: "4h05m", 15 * time.Minute: "15m",
		90 * time.Second: "1m30s", 45 * time.Second: "45s", 0: "0s",
	}
	for d, want := range tests {
		if got := Duration(d); got != want {
			t.Errorf("Duration(%v) = %q, want %q", d, got, want)
		}
	}
}
