package steps

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/hashicorp/hcl/v2"
	"github.com/runbook-dev/runbook/clock"
	"github.com/runbook-dev/runbook/executor"
	"github.com/runbook-dev/runbook/executor/plan"
	"github.com/runbook-dev/runbook/lang"
	simpep "github.com/runbook-dev/runbook/sim/pep"
	"github.com/runbook-dev/runbook/state"
	"github.com/zclconf/go-cty/cty"
)

// TestBMCPasswordPlanApplyPlan runs plan, apply and plan again against the
// simulated PEP in Basic and in sealed-NTLM mode: the first plan proposes
// an update that shows the password only as "(sensitive value)", apply
// sets the canary password on every fake BMC, and the second plan, given
// the journalled fingerprint, has nothing to do. The canaries are searched
// for in every output on the way.
func TestBMCPasswordPlanApplyPlan(t *testing.T) {
	for name := range pepModes {
		t.Run(name, func(t *testing.T) {
			f := newPEPFixture(t, pepFixtureOptions{mode: name, steps: `
step "bmc_password" "bmc" {
  pep               = pep.east
  password          = var.bmc_password
  user              = "bmcadmin"
  expected_duration = "15m"
}`})
			// The searches of the simulator's records and the client's log
			// run whatever happens below.
			defer func() {
				sim := f.simOutputs()
				assertNoCanary(t, "the simulator's transcript and request log", sim...)
				assertNoCanary(t, "the client log", f.log.String())
				if !strings.Contains(strings.Join(sim, "\n"), `name="BmcPassword"; value="System.Security.SecureString"`) {
					t.Error("the transcript does not show the password as a SecureString: the search proves less")
				}
			}()
			p, diags := f.plan(nil)
			if diags != "" {
				t.Fatalf("plan: %s", diags)
			}
			ch := p.Change("step.bmc")
			want := &plan.Change{
				Address: "step.bmc", Type: "bmc_password", Name: "bmc", Action: plan.Update,
				Summary:   "set the BMC user and password on the BMCs of 3 nodes and in the stamp's record, with Set-BmcCredential",
				Reason:    "no successful run of this step is journalled",
				DependsOn: []string{}, ExpectedDuration: ch.ExpectedDuration,
				Private:      map[string]string{PrivateCmdlet: CmdletSetBmcCredential},
				Fingerprints: map[string]string{FingerprintPassword: f.fingerprint([]byte(canaryBMC))},
			}
			if diff := cmp.Diff(want, ch, cmpopts.IgnoreFields(plan.Change{}, "Before", "After")); diff != "" {
				t.Errorf("change (-want +got):\n%s", diff)
			}
			// No run recorded a user: the user is shown as added.
			state := func(user, password cty.Value) cty.Value {
				return cty.ObjectVal(map[string]cty.Value{
					"user": user, "password": password, "cmdlet": cty.StringVal(CmdletSetBmcCredential),
					"bmcs": cty.NumberIntVal(3), "updates": cty.StringVal("the BMCs and the stamp's record"),
				})
			}
			wantBefore := state(cty.NullVal(cty.String), cty.UnknownVal(cty.String).Mark(lang.Sensitive))
			wantAfter := state(cty.StringVal("bmcadmin"), cty.StringVal(canaryBMC).Mark(lang.Sensitive))
			if !ch.Before.RawEquals(wantBefore) || !ch.After.RawEquals(wantAfter) {
				t.Errorf("before, after = %#v, %#v; want the user added, a sensitive password, the cmdlet and 3 BMCs", ch.Before, ch.After)
			}
			if ch.ExpectedDuration.String() != "15m0s" {
				t.Errorf("expected duration = %v, want the step's 15m", ch.ExpectedDuration)
			}
			text, outs := f.outputs(p)
			for _, line := range []string{
				"# step.bmc (bmc_password) will set the BMC user and password on the BMCs of 3 nodes and in the stamp's record, with Set-BmcCredential",
				`~ bmc_password "bmc" {`,
				"password = (sensitive value)",
				`+ user     = "bmcadmin"`,
				`bmcs     = 3`,
			} {
				if !strings.Contains(text, line) {
					t.Errorf("plan text lacks %q:\n%s", line, text)
				}
			}
			assertNoCanary(t, "the plan", outs...)
			wantOut := cty.ObjectVal(map[string]cty.Value{
				"pep": cty.StringVal("east"), "user": cty.StringVal("bmcadmin"), "cmdlet": cty.StringVal(CmdletSetBmcCredential),
			})
			if !p.Outputs("step.bmc").RawEquals(wantOut) {
				t.Errorf("planned outputs = %#v, want %#v", p.Outputs("step.bmc"), wantOut)
			}

			planTrips, planConns := f.ep.WSMan.RoundTrips(), f.ep.WSMan.Connections()
			resp := f.apply("bmc", ch)
			t.Logf("plan: %d HTTP round trips on %d connections; apply: %d on %d",
				planTrips, planConns, f.ep.WSMan.RoundTrips()-planTrips, f.ep.WSMan.Connections()-planConns)
			assertNoCanary(t, "the apply result", fmtResult(resp))
			if resp.Err != nil {
				t.Fatalf("apply: %v", resp.Err)
			}
			if !resp.Outputs.RawEquals(wantOut) {
				t.Errorf("outputs = %#v, want %#v", resp.Outputs, wantOut)
			}
			st := f.ep.State()
			if len(st.Nodes) != 3 {
				t.Fatalf("%d nodes, want 3", len(st.Nodes))
			}
			for _, n := range st.Nodes {
				if !f.ep.BMCPasswordMatches(n.Name, canaryBMC) || !f.ep.StoredPasswordMatches(n.Name, canaryBMC) || !n.InSync || n.BMCUser != "bmcadmin" {
					t.Errorf("node %s not updated: %+v", n.Name, n)
				}
			}
			if st.Sessions != 0 {
				t.Errorf("%d sessions left open on the PEP", st.Sessions)
			}

			p2, diags := f.plan(map[string]map[string]string{"step.bmc": resp.Result})
			if diags != "" {
				t.Fatalf("second plan: %s", diags)
			}
			ch2 := p2.Change("step.bmc")
			if ch2.Action != plan.NoOp {
				t.Errorf("second plan: action %v (%s), want no-op", ch2.Action, ch2.Reason)
			}
			text2, outs2 := f.outputs(p2)
			if !strings.Contains(text2, "No changes.") {
				t.Errorf("second plan text:\n%s", text2)
			}
			assertNoCanary(t, "the second plan", outs2...)
		})
	}
}

// fmtResult prints everything an ApplyResponse carries.
func fmtResult(r *executor.ApplyResponse) string {
	s := ""
	if r.Err != nil {
		s = r.Err.Error()
	}
	for k, v := range r.Result {
		s += "\n" + k + "=" + v
	}
	if r.Outputs != cty.NilVal {
		s += "\n" + r.Outputs.GoString()
	}
	return s
}

// TestBMCPasswordNoChangeRule checks the plan's decision against the
// journalled fingerprint: the same password (and user) is no change; a new
// password, a new user or no history is an update.
func TestBMCPasswordNoChangeRule(t *testing.T) {
	f := newPEPFixture(t, pepFixtureOptions{steps: bmcStep + `
step "bmc_password" "with_user" {
  pep      = pep.east
  password = var.bmc_password
  user     = "bmcadmin"
}`})
	fp := f.fingerprint
	tests := map[string]struct {
		step string
		last map[string]string
		want plan.Action
	}{
		"no history":             {"bmc", nil, plan.Update},
		"same password":          {"bmc", map[string]string{ResultPasswordFingerprint: fp([]byte(canaryBMC))}, plan.NoOp},
		"other password":         {"bmc", map[string]string{ResultPasswordFingerprint: fp([]byte("Other-Bmc#123"))}, plan.Update},
		"history without result": {"bmc", map[string]string{}, plan.Update},
		"user added":             {"with_user", map[string]string{ResultPasswordFingerprint: fp([]byte(canaryBMC))}, plan.Update},
		"same user and password": {"with_user", map[string]string{ResultPasswordFingerprint: fp([]byte("bmc-user\x00bmcadmin\x00" + canaryBMC))}, plan.NoOp},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var h *state.History
			if tc.last != nil {
				h = &state.History{LastSuccess: tc.last}
			}
			resp := BMCPassword{peps: f.dialer}.Plan(context.Background(), f.request(tc.step, h))
			if resp.Diagnostics.HasErrors() {
				t.Fatal(resp.Diagnostics.Error())
			}
			if resp.Action != tc.want {
				t.Errorf("action = %v (%s), want %v", resp.Action, resp.Reason, tc.want)
			}
		})
	}
	// Nothing but read-only commands (and the session's
	// Close-PrivilegedEndpoint) ran: plan changes nothing.
	for _, e := range f.ep.Transcript() {
		if e.Command != "Get-Command" && e.Command != "Get-AzureStackStampInformation" && e.Command != "Close-PrivilegedEndpoint" {
			t.Errorf("plan ran %s on the PEP", e.Command)
		}
	}
}

// TestBMCPasswordLegacyStamp checks a stamp whose PEP has only the older
// Set-BmcPassword: plan records it, apply uses it, and a user (which that
// cmdlet cannot set) is a plan error.
func TestBMCPasswordLegacyStamp(t *testing.T) {
	f := newPEPFixture(t, pepFixtureOptions{sim: simpep.Config{LegacyOnly: true}, steps: bmcStep + `
step "bmc_password" "with_user" {
  pep      = pep.east
  password = var.bmc_password
  user     = "bmcadmin"
}`})
	req := f.request("bmc", nil)
	resp := BMCPassword{peps: f.dialer}.Plan(context.Background(), req)
	if resp.Diagnostics.HasErrors() {
		t.Fatal(resp.Diagnostics.Error())
	}
	if diff := cmp.Diff(map[string]string{PrivateCmdlet: CmdletSetBmcPassword}, resp.Private); diff != "" {
		t.Errorf("private (-want +got):\n%s", diff)
	}
	ch := &plan.Change{Address: "step.bmc", Action: resp.Action, Private: resp.Private, Fingerprints: resp.Fingerprints}
	ar := f.apply("bmc", ch)
	if ar.Err != nil {
		t.Fatalf("apply: %v", ar.Err)
	}
	for _, n := range f.ep.State().Nodes {
		if !f.ep.BMCPasswordMatches(n.Name, canaryBMC) {
			t.Errorf("node %s: BMC password not set", n.Name)
		}
	}
	var cmds []string
	for _, e := range f.ep.Transcript() {
		cmds = append(cmds, e.Command)
	}
	// Each session ends with Close-PrivilegedEndpoint.
	if diff := cmp.Diff([]string{"Get-Command", "Get-AzureStackStampInformation", "Close-PrivilegedEndpoint", "Set-BmcPassword", "Close-PrivilegedEndpoint"}, cmds); diff != "" {
		t.Errorf("commands run (-want +got):\n%s", diff)
	}

	resp = BMCPassword{peps: f.dialer}.Plan(context.Background(), f.request("with_user", nil))
	if got := summaries(resp.Diagnostics); !cmp.Equal(got, []string{"BMC user cannot be set on this stamp"}) {
		t.Errorf("diagnostics = %q", got)
	}
	// Without a plan, apply finds the cmdlet itself and refuses the user.
	if ar := f.apply("with_user", nil); ar.Err == nil || !strings.Contains(ar.Err.Error(), "only Set-BmcPassword") {
		t.Errorf("apply with a user on a legacy stamp: %v", ar.Err)
	}
}

func summaries(diags hcl.Diagnostics) []string {
	var out []string
	for _, d := range diags {
		out = append(out, d.Summary)
	}
	return out
}

// TestBMCPasswordLocalChecks checks the password and user rules: errors
// stop the plan before any session is opened, warnings do not, and no
// diagnostic quotes the password or points at the line that holds it.
func TestBMCPasswordLocalChecks(t *testing.T) {
	str := func(s string) *string { return &s }
	tests := map[string]struct {
		password *string
		user     string
		want     []string // summaries; errors first, then warnings
		errors   bool
		// rejected: the simulated BMCs refuse the password at apply, as
		// the warning foretold.
		rejected bool
	}{
		"17 characters":     {password: str("Abcdefgh-1234567x"), want: []string{"BMC password too long"}, errors: true},
		"empty":             {password: str(""), want: []string{"Empty BMC password"}, errors: true},
		"space":             {password: str("Abcd 1234-xyz"), want: []string{"Character a BMC refuses in the BMC password"}, errors: true},
		"non-ASCII":         {password: str("Pässwörd-12345"), want: []string{"Character a BMC refuses in the BMC password"}, errors: true},
		"control character": {password: str("Abcd\t1234-xyz"), want: []string{"Character a BMC refuses in the BMC password"}, errors: true},
		"user too long":     {user: "a-very-long-bmc-user", want: []string{"BMC user name too long"}, errors: true},
		"user with a space": {user: "bmc admin", want: []string{"Invalid BMC user name"}, errors: true},
		"short":             {password: str("Ab1-xyz"), want: []string{"Short BMC password"}, rejected: true},
		"one class":         {password: str("abcdefghijkl"), want: []string{"Simple BMC password"}},
		"16 characters":     {password: str("Abcdefgh-1234567")},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			userAttr := ""
			if tc.user != "" {
				userAttr = `user = "` + tc.user + `"`
			}
			f := newPEPFixture(t, pepFixtureOptions{bmcPassword: tc.password, steps: `
step "bmc_password" "bmc" {
  pep      = pep.east
  password = var.bmc_password
  ` + userAttr + `
}`})
			req := f.request("bmc", nil)
			resp := BMCPassword{peps: f.dialer}.Plan(context.Background(), req)
			if diff := cmp.Diff(tc.want, summaries(resp.Diagnostics)); diff != "" {
				t.Errorf("diagnostics (-want +got):\n%s", diff)
			}
			if resp.Diagnostics.HasErrors() != tc.errors {
				t.Errorf("errors = %v, want %v", resp.Diagnostics.HasErrors(), tc.errors)
			}
			opened := len(f.ep.WSMan.Requests()) > 0
			if opened == tc.errors {
				t.Errorf("PEP contacted = %v with errors = %v", opened, tc.errors)
			}
			pw := canaryBMC
			if tc.password != nil {
				pw = *tc.password
			}
			text := diagText(f.rb, resp.Diagnostics)
			if pw != "" && strings.Contains(text, pw) {
				t.Errorf("diagnostics quote the password:\n%s", text)
			}
			for _, d := range resp.Diagnostics {
				if strings.Contains(d.Summary, "password") && (d.Subject == nil || *d.Subject != req.Step.DeclRange) {
					t.Errorf("%q: subject %v, want the step's block header %v", d.Summary, d.Subject, req.Step.DeclRange)
				}
			}
			ar := f.apply("bmc", nil)
			if (ar.Err != nil) != (tc.errors || tc.rejected) || ar.Retryable {
				t.Errorf("apply: err = %v, retryable = %v", ar.Err, ar.Retryable)
			}
			if ar.Err != nil && pw != "" && strings.Contains(ar.Err.Error(), pw) {
				t.Errorf("apply error quotes the password: %v", ar.Err)
			}
		})
	}
}

// TestBMCPasswordLiteralInRunbook checks that a password written in the
// runbook (not sensitive) is warned about, still shown only as
// "(sensitive value)", and that a diagnostic about it does not print its
// source line.
func TestBMCPasswordLiteralInRunbook(t *testing.T) {
	f := newPEPFixture(t, pepFixtureOptions{steps: `
step "bmc_password" "bmc" {
  pep      = pep.east
  password = "` + canaryBMC + `x"
}`})
	p, diags := f.plan(nil)
	for _, s := range []string{"BMC password too long", "Secret is not marked sensitive"} {
		if !strings.Contains(diags, s) {
			t.Errorf("diagnostics lack %q:\n%s", s, diags)
		}
	}
	assertNoCanary(t, "the diagnostics", diags)
	if p != nil && p.Change("step.bmc") != nil {
		t.Errorf("a change was planned despite the error: %+v", p.Change("step.bmc"))
	}
}

// TestBMCPasswordResumeRunsAgain checks that Resume sets the password
// again, with -BypassBMCUpdate passed as a switch when configured.
func TestBMCPasswordResumeRunsAgain(t *testing.T) {
	f := newPEPFixture(t, pepFixtureOptions{steps: `
step "bmc_password" "bmc" {
  pep               = pep.east
  password          = var.bmc_password
  bypass_bmc_update = true
}`})
	req := f.request("bmc", nil)
	for i := range 2 {
		resp := BMCPassword{peps: f.dialer}.Resume(context.Background(), &executor.ResumeRequest{ApplyRequest: executor.ApplyRequest{
			Address: req.Address, Step: req.Step, Config: req.Config, Runbook: f.rb, Clock: clock.Real, Attempt: i + 1, Fingerprint: f.fingerprint,
		}})
		if resp.Err != nil {
			t.Fatalf("resume %d: %v", i+1, resp.Err)
		}
		if diff := cmp.Diff(map[string]string{ResultPasswordFingerprint: f.fingerprint([]byte(canaryBMC))}, resp.Result); diff != "" {
			t.Errorf("result (-want +got):\n%s", diff)
		}
	}
	for _, n := range f.ep.State().Nodes {
		if !f.ep.StoredPasswordMatches(n.Name, canaryBMC) || f.ep.BMCPasswordMatches(n.Name, canaryBMC) {
			t.Errorf("node %s: with bypass only the stored credential should change", n.Name)
		}
	}
	var params []string
	for _, e := range f.ep.Transcript() {
		if e.Command == CmdletSetBmcCredential {
			for _, p := range e.Parameters {
				params = append(params, p.Name+"="+p.Value)
			}
		}
	}
	want := []string{"BmcPassword=System.Security.SecureString", "BypassBMCUpdate=True"}
	if diff := cmp.Diff(append(want, want...), params); diff != "" {
		t.Errorf("transcribed parameters (-want +got):\n%s", diff)
	}
}

// TestBMCPasswordInfo checks the type's description for the executor.
func TestBMCPasswordInfo(t *testing.T) {
	f := newPEPFixture(t, pepFixtureOptions{})
	req := f.request("bmc", nil)
	got := BMCPassword{}.Info(req.Config)
	want := executor.Info{ExpectedDuration: bmcExpected, Timeout: got.Timeout, RepeatSafe: true, Targets: []string{"pep.east"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("info (-want +got):\n%s", diff)
	}
	if got.Timeout < bmcExpected {
		t.Errorf("timeout %v is shorter than the expected duration", got.Timeout)
	}
}

// TestBMCPasswordNotAPEP checks that pep must refer to a pep block.
func TestBMCPasswordNotAPEP(t *testing.T) {
	f := newPEPFixture(t, pepFixtureOptions{steps: `
step "bmc_password" "bmc" {
  pep      = "east"
  password = var.bmc_password
}`})
	resp := BMCPassword{peps: f.dialer}.Plan(context.Background(), f.request("bmc", nil))
	if diff := cmp.Diff([]string{"Invalid pep reference"}, summaries(resp.Diagnostics)); diff != "" {
		t.Errorf("diagnostics (-want +got):\n%s", diff)
	}
}
