package lang

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

var testStepTypes = []string{"bmc_password", "product_secret", "readiness_check", "rotate_action", "secret_rotation"}

var errorMarker = regexp.MustCompile(`# ERROR: (.+)$`)

// TestBadRunbooks loads each file of testdata/bad and checks that it gets
// exactly the errors its "# ERROR: <summary>" comments announce, on those
// lines.
func TestBadRunbooks(t *testing.T) {
	files, err := filepath.Glob("testdata/bad/*" + FileSuffix)
	if err != nil || len(files) < 20 {
		t.Fatalf("want at least 20 bad runbooks, found %d (%v)", len(files), err)
	}
	for _, file := range files {
		name := filepath.Base(file)
		t.Run(strings.TrimSuffix(name, FileSuffix), func(t *testing.T) {
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			sc := bufio.NewScanner(bytes.NewReader(src))
			for line := 1; sc.Scan(); line++ {
				if m := errorMarker.FindStringSubmatch(sc.Text()); m != nil {
					want = append(want, fmt.Sprintf("%d: %s", line, m[1]))
				}
			}
			_, diags := Load(os.DirFS("testdata/bad"), name, Options{StepTypes: testStepTypes})
			var got []string
			for _, d := range diags {
				if d.Severity != hcl.DiagError {
					continue
				}
				if d.Subject == nil {
					t.Errorf("error %q has no source range", d.Summary)
					continue
				}
				if d.Subject.Filename != name {
					t.Errorf("error %q points at file %q, want %q", d.Summary, d.Subject.Filename, name)
				}
				if d.Detail == "" {
					t.Errorf("error %q has no detail", d.Summary)
				}
				got = append(got, fmt.Sprintf("%d: %s", d.Subject.Start.Line, d.Summary))
			}
			sort.Strings(got)
			sort.Strings(want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

func TestExamplesLoad(t *testing.T) {
	dirs, _ := filepath.Glob("../runbooks/*")
	if len(dirs) == 0 {
		t.Fatal("no example runbooks")
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			rb, diags := Load(os.DirFS(dir), ".", Options{Validate: true, StepTypes: testStepTypes})
			if len(diags) > 0 {
				t.Fatalf("diagnostics: %v", diags)
			}
			if len(rb.Steps) == 0 {
				t.Error("no steps")
			}
		})
	}
}

func loadSrc(t *testing.T, src string, opts Options) (*Runbook, hcl.Diagnostics) {
	t.Helper()
	fsys := fstest.MapFS{"main.runbook.hcl": {Data: []byte(src)}, "certs/ca.pem": {Data: []byte("PEM DATA")}}
	if opts.StepTypes == nil {
		opts.StepTypes = testStepTypes
	}
	return Load(fsys, ".", opts)
}

func TestVariablePrecedence(t *testing.T) {
	const src = `
variable "region" {
  default = "default"
}
variable "days" {
  type    = number
  default = 1
}
variable "tags" {
  type    = map(string)
  default = {}
}
`
	tests := map[string]struct {
		environ []string
		vars    []VarArg
		want    map[string]cty.Value
		source  string
	}{
		"default": {
			want:   map[string]cty.Value{"region": cty.StringVal("default"), "days": cty.NumberIntVal(1)},
			source: "default",
		},
		"environment beats default": {
			environ: []string{"RUNBOOK_VAR_region=env", "RUNBOOK_VAR_days=7"},
			want:    map[string]cty.Value{"region": cty.StringVal("env"), "days": cty.NumberIntVal(7)},
			source:  "environment variable RUNBOOK_VAR_region",
		},
		"var-file beats environment": {
			environ: []string{"RUNBOOK_VAR_region=env"},
			vars:    []VarArg{{File: "a.vars.hcl", Src: []byte("region = \"file\"\ndays = 3\n")}},
			want:    map[string]cty.Value{"region": cty.StringVal("file"), "days": cty.NumberIntVal(3)},
			source:  "a.vars.hcl",
		},
		"later argument wins": {
			vars: []VarArg{
				{Name: "region", Value: "flag"},
				{File: "a.vars.hcl", Src: []byte("region = \"file\"\n")},
			},
			want:   map[string]cty.Value{"region": cty.StringVal("file"), "days": cty.NumberIntVal(1)},
			source: "a.vars.hcl",
		},
		"-var after -var-file": {
			vars: []VarArg{
				{File: "a.vars.hcl", Src: []byte("region = \"file\"\n")},
				{Name: "region", Value: "flag"},
				{Name: "tags", Value: `{team = "azs"}`},
			},
			want: map[string]cty.Value{
				"region": cty.StringVal("flag"), "days": cty.NumberIntVal(1),
				"tags": cty.MapVal(map[string]cty.Value{"team": cty.StringVal("azs")}),
			},
			source: "-var",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			rb, diags := loadSrc(t, src, Options{Environ: tc.environ, Vars: tc.vars})
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			for k, want := range tc.want {
				if got := rb.VariableValue(k); !got.RawEquals(want) {
					t.Errorf("var.%s = %#v, want %#v", k, got, want)
				}
			}
			if got := rb.Variables["region"].Source; got != tc.source {
				t.Errorf("source = %q, want %q", got, tc.source)
			}
		})
	}
}

func TestUndeclaredVarFlag(t *testing.T) {
	_, diags := loadSrc(t, `variable "region" { default = "x" }`, Options{Vars: []VarArg{{Name: "regoin", Value: "y"}}})
	if !diags.HasErrors() || !strings.Contains(diags.Error(), `Did you mean "region"?`) {
		t.Fatalf("want an undeclared-variable error with a suggestion, got %v", diags)
	}
}

func TestSensitivityPropagates(t *testing.T) {
	const src = `
variable "pw" {
  type      = string
  sensitive = true
}
locals {
  upper_pw  = upper(var.pw)
  joined    = join("-", ["a", var.pw])
  from_env  = env("PEP_PASSWORD")
  lit       = sensitive("literal")
  revealed  = nonsensitive(length(var.pw))
  plain     = "plain"
}
`
	rb, diags := loadSrc(t, src, Options{
		Vars:    []VarArg{{Name: "pw", Value: "canary-Secret-1"}},
		Environ: []string{"PEP_PASSWORD=env-canary"},
	})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	for _, name := range []string{"upper_pw", "joined", "from_env", "lit"} {
		if v := rb.LocalValue(name); !v.HasMark(Sensitive) {
			t.Errorf("local.%s is not sensitive", name)
		}
	}
	for _, name := range []string{"revealed", "plain"} {
		if v := rb.LocalValue(name); v.HasMark(Sensitive) {
			t.Errorf("local.%s is sensitive", name)
		}
	}
	if !rb.VariableValue("pw").HasMark(Sensitive) {
		t.Error("var.pw is not sensitive")
	}
}

func TestFunctions(t *testing.T) {
	const src = `
locals {
  len_str  = length("abc")
  len_list = length([1, 2])
  fmt      = format("%s-%d", "a", 1)
  b64      = base64encode("hi")
  js       = jsonencode({a = 1})
  merged   = merge({a = 1}, {b = 2})
  co       = coalesce(null, "x")
  tried    = try(local.missing_attr.x, "fallback")
  can_x    = can(regex("^a", "abc"))
  later    = timeadd(plantimestamp(), "24h")
  cmp      = timecmp("2026-01-02T00:00:00Z", "2026-01-01T00:00:00Z")
  ca       = file("certs/ca.pem")
  replaced = replace("a-b", "-", "_")
  has      = contains(["a"], "a")
}
`
	plan := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	rb, diags := loadSrc(t, strings.Replace(src, "local.missing_attr.x", `{}["x"]`, 1), Options{PlanTime: plan})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	want := map[string]cty.Value{
		"len_str":  cty.NumberIntVal(3),
		"len_list": cty.NumberIntVal(2),
		"fmt":      cty.StringVal("a-1"),
		"b64":      cty.StringVal("aGk="),
		"js":       cty.StringVal(`{"a":1}`),
		"co":       cty.StringVal("x"),
		"tried":    cty.StringVal("fallback"),
		"can_x":    cty.True,
		"later":    cty.StringVal("2026-11-24T12:00:00Z"),
		"cmp":      cty.NumberIntVal(1),
		"ca":       cty.StringVal("PEM DATA"),
		"replaced": cty.StringVal("a_b"),
		"has":      cty.True,
	}
	for name, w := range want {
		if got := rb.LocalValue(name); !got.RawEquals(w) {
			t.Errorf("local.%s = %#v, want %#v", name, got, w)
		}
	}
}

func TestValidateModeLeavesSecretsUnknown(t *testing.T) {
	const src = `
variable "pw" {
  type      = string
  sensitive = true
}
locals {
  e = env("NOT_SET_ANYWHERE")
}
`
	rb, diags := loadSrc(t, src, Options{Validate: true})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if rb.VariableValue("pw").IsKnown() || rb.LocalValue("e").IsKnown() {
		t.Error("values without input should be unknown in validate mode")
	}
}

func TestStepDecoding(t *testing.T) {
	const src = `
step "product_secret" "cert" {
  secret_name = "s"
}
step "rotate_action" "rot" {
  product_id        = "p-${step.cert.secret_name}"
  depends_on        = [step.cert]
  timeout           = "6h"
  expected_duration = "4h"
  retry {
    attempts  = 4
    delay     = "1m"
    backoff   = "exponential"
    max_delay = "3m"
  }
  postcondition {
    condition     = self.status == "Succeeded"
    error_message = "rotation did not succeed"
  }
}
`
	rb, diags := loadSrc(t, src, Options{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	s := rb.Steps["rot"]
	if s.Timeout != 6*time.Hour || s.ExpectedDuration != 4*time.Hour {
		t.Errorf("timeout %v, expected duration %v", s.Timeout, s.ExpectedDuration)
	}
	if len(s.DependsOn) != 1 || s.DependsOn[0].Name != "cert" || len(s.References) != 1 || s.References[0].Name != "cert" {
		t.Errorf("depends_on %v, references %v", s.DependsOn, s.References)
	}
	if len(s.Postconditions) != 1 {
		t.Errorf("postconditions %v", s.Postconditions)
	}
	delays := []time.Duration{s.Retry.DelayBefore(1), s.Retry.DelayBefore(2), s.Retry.DelayBefore(3), s.Retry.DelayBefore(4)}
	if diff := cmp.Diff([]time.Duration{0, time.Minute, 2 * time.Minute, 3 * time.Minute}, delays); diff != "" {
		t.Errorf("retry delays (-want +got):\n%s", diff)
	}
	attrs, _ := s.Body.JustAttributes()
	if _, ok := attrs["depends_on"]; ok {
		t.Error("the step body still shows depends_on to the step type")
	}
	if _, ok := attrs["product_id"]; !ok {
		t.Error("the step body lost product_id")
	}
}

func TestWindowOccurrence(t *testing.T) {
	const src = `
window "once" {
  start    = "2026-11-28T22:00:00Z"
  duration = "8h"
}
window "weekly" {
  every    = "saturday 22:00"
  timezone = "Europe/Berlin"
  duration = "8h"
}
window "nightly" {
  every    = "day 01:30"
  duration = "2h"
}
`
	rb, diags := loadSrc(t, src, Options{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	utc := func(s string) time.Time { t, _ := time.Parse(time.RFC3339, s); return t }
	tests := map[string]struct {
		window    string
		at        time.Time
		open, end time.Time
		ok        bool
	}{
		"once before":    {"once", utc("2026-11-23T00:00:00Z"), utc("2026-11-28T22:00:00Z"), utc("2026-11-29T06:00:00Z"), true},
		"once inside":    {"once", utc("2026-11-29T05:00:00Z"), utc("2026-11-28T22:00:00Z"), utc("2026-11-29T06:00:00Z"), true},
		"once after":     {"once", utc("2026-11-29T06:00:00Z"), time.Time{}, time.Time{}, false},
		"weekly before":  {"weekly", utc("2026-11-23T10:00:00Z"), time.Date(2026, 11, 28, 22, 0, 0, 0, berlin), time.Date(2026, 11, 29, 6, 0, 0, 0, berlin), true},
		"weekly inside":  {"weekly", time.Date(2026, 11, 29, 2, 0, 0, 0, berlin), time.Date(2026, 11, 28, 22, 0, 0, 0, berlin), time.Date(2026, 11, 29, 6, 0, 0, 0, berlin), true},
		"weekly after":   {"weekly", time.Date(2026, 11, 29, 6, 0, 0, 0, berlin), time.Date(2026, 12, 5, 22, 0, 0, 0, berlin), time.Date(2026, 12, 6, 6, 0, 0, 0, berlin), true},
		"nightly inside": {"nightly", utc("2026-11-23T02:00:00Z"), utc("2026-11-23T01:30:00Z"), utc("2026-11-23T03:30:00Z"), true},
		"nightly later":  {"nightly", utc("2026-11-23T04:00:00Z"), utc("2026-11-24T01:30:00Z"), utc("2026-11-24T03:30:00Z"), true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			open, end, ok := rb.Windows[tc.window].Occurrence(tc.at)
			if ok != tc.ok || !open.Equal(tc.open) || !end.Equal(tc.end) {
				t.Errorf("Occurrence(%v) = %v, %v, %v; want %v, %v, %v", tc.at, open, end, ok, tc.open, tc.end, tc.ok)
			}
		})
	}
}

func TestSecretNeverFormats(t *testing.T) {
	s := NewSecret("canary-Secret-1")
	for _, out := range []string{fmt.Sprint(s), fmt.Sprintf("%v %s %q %#v %+v", s, s, s, s, s)} {
		if strings.Contains(out, "canary") {
			t.Fatalf("secret leaked: %s", out)
		}
	}
	if s.Reveal() != "canary-Secret-1" {
		t.Fatal("Reveal lost the value")
	}
}

func TestClearTextSecretWarns(t *testing.T) {
	const src = `
hub "east" {
  endpoint = "https://adminmanagement.east.contoso.com"
  auth {
    method        = "client_secret"
    client_id     = "id"
    client_secret = "written-in-clear"
  }
}
`
	_, diags := loadSrc(t, src, Options{})
	if diags.HasErrors() || len(diags) != 1 || diags[0].Summary != "Secret is not marked sensitive" {
		t.Fatalf("want one warning about the clear-text secret, got %v", diags)
	}
}

func TestConnectionsFromEnvironment(t *testing.T) {
	const src = `
pep "p" {
  addresses = [env("PEP_ADDR"), "10.0.0.225"]
  port      = parseint(env("PEP_PORT"), 10)
  username  = env("PEP_USER")
  password  = env("PEP_PASSWORD")
}
hub "h" {
  endpoint = env("HUB")
  auth {
    method = "azure_cli"
  }
}
`
	rb, diags := loadSrc(t, src, Options{Environ: []string{"PEP_ADDR=10.0.0.224", "PEP_PORT=5986", "PEP_USER=AZS\\CloudAdmin", "PEP_PASSWORD=pw", "HUB=https://adminmanagement.local.azurestack.external"}})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	p := rb.PEPs["p"]
	if diff := cmp.Diff([]string{"10.0.0.224", "10.0.0.225"}, p.Addresses); diff != "" || p.Port != 5986 || p.Password.Reveal() != "pw" {
		t.Errorf("pep = %+v (-want +got addresses):\n%s", p, diff)
	}
	if rb.Hubs["h"].Endpoint != "https://adminmanagement.local.azurestack.external" {
		t.Errorf("hub endpoint %q", rb.Hubs["h"].Endpoint)
	}
}
