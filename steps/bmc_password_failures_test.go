package steps

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/runbook-dev/runbook/executor/plan"
	simwsman "github.com/runbook-dev/runbook/sim/wsman"
)

// TestBMCPasswordFailures checks the failures apply and plan can meet:
// each gives a clear error that names the cause, says whether retrying may
// help, and leaks neither canary.
func TestBMCPasswordFailures(t *testing.T) {
	tests := map[string]struct {
		opts      pepFixtureOptions
		setup     func(f *pepFixture)
		planDiag  string // substring of the plan's error diagnostic, "" for none
		applyErr  []string
		retryable bool
	}{
		"BMC rejects the password": {
			setup: func(f *pepFixture) { f.ep.RejectNextBMCPassword("AzS-Node02", "password history violation") },
			applyErr: []string{
				"pep east: Set-BmcCredential failed",
				"Failed to update the BMC credential of node AzS-Node02: the BMC rejected the new credential: password history violation",
				"FullyQualifiedErrorId BmcCredentialUpdateFailed,Set-BmcCredential",
			},
		},
		"wrong PEP password": {
			opts:     pepFixtureOptions{pepPassword: "canary-wrong-Pw-0"},
			planDiag: "authentication failed",
			applyErr: []string{"pep east:", "authentication failed (401)"},
		},
		"wrong PEP password, sealed": {
			opts:     pepFixtureOptions{mode: "sealed ntlm over http", pepPassword: "canary-wrong-Pw-0"},
			planDiag: "authentication failed",
			applyErr: []string{"pep east:", "authentication failed (401)"},
		},
		"connection dropped during the command": {
			setup: func(f *pepFixture) {
				f.ep.WSMan.Inject(simwsman.Injection{Action: "Command", Kind: simwsman.InjectDrop, Times: 1})
			},
			applyErr:  []string{"pep east:", "Set-BmcCredential", "whether the BMCs were changed is unknown"},
			retryable: true,
		},
		"connection dropped during plan's Get-Command": {
			setup: func(f *pepFixture) {
				f.ep.WSMan.Inject(simwsman.Injection{Action: "Command", Kind: simwsman.InjectDrop, Times: 2})
			},
			planDiag:  "Error: Cannot ask the PEP for its BMC cmdlets",
			applyErr:  []string{"pep east:", "Get-Command", "EOF"},
			retryable: true,
		},
		"PEP unreachable": {
			setup: func(f *pepFixture) {
				f.ep.WSMan.Close()
			},
			planDiag:  "no Privileged Endpoint reachable",
			applyErr:  []string{"pep east:", "no Privileged Endpoint reachable"},
			retryable: true,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := newPEPFixture(t, tc.opts)
			req := f.request("bmc", nil)
			var ch *plan.Change
			if tc.planDiag == "" {
				resp := BMCPassword{peps: f.dialer}.Plan(context.Background(), req)
				if resp.Diagnostics.HasErrors() {
					t.Fatal(resp.Diagnostics.Error())
				}
				ch = &plan.Change{Address: "step.bmc", Action: resp.Action, Private: resp.Private, Fingerprints: resp.Fingerprints}
			}
			if tc.setup != nil {
				tc.setup(f)
			}
			if tc.planDiag != "" {
				resp := BMCPassword{peps: f.dialer}.Plan(context.Background(), req)
				text := diagText(f.rb, resp.Diagnostics)
				if !resp.Diagnostics.HasErrors() || !strings.Contains(text, tc.planDiag) {
					t.Errorf("plan diagnostics lack %q:\n%s", tc.planDiag, text)
				}
				assertNoCanary(t, "the plan diagnostics", text)
				assertNoCanary(t, "the plan diagnostics", strings.ReplaceAll(text, "canary-wrong-Pw-0", ""))
				if strings.Contains(text, "canary-wrong-Pw-0") {
					t.Errorf("plan diagnostics hold the wrong PEP password:\n%s", text)
				}
			}
			ar := f.apply("bmc", ch)
			if ar.Err == nil {
				t.Fatal("apply succeeded")
			}
			msg := ar.Err.Error()
			t.Logf("apply error: %s", msg)
			for _, s := range tc.applyErr {
				if !strings.Contains(msg, s) {
					t.Errorf("apply error lacks %q: %s", s, msg)
				}
			}
			if ar.Retryable != tc.retryable {
				t.Errorf("retryable = %v, want %v (%s)", ar.Retryable, tc.retryable, msg)
			}
			if ar.Result != nil {
				t.Errorf("a failed apply has a result to journal: %v", ar.Result)
			}
			if strings.Contains(msg, "canary-wrong-Pw-0") {
				t.Errorf("apply error holds the PEP password: %s", msg)
			}
			assertNoCanary(t, "the apply error", msg)
			assertNoCanary(t, "the simulator's records", f.simOutputs()...)
			assertNoCanary(t, "the client log", f.log.String())
			if strings.Contains(f.log.String(), "canary-wrong-Pw-0") {
				t.Error("the client log holds the PEP password")
			}
		})
	}
}

// TestBMCPasswordApplyRefusesOtherPassword checks that apply refuses a
// password other than the one the plan was reviewed with.
func TestBMCPasswordApplyRefusesOtherPassword(t *testing.T) {
	f := newPEPFixture(t, pepFixtureOptions{})
	ch := &plan.Change{
		Address: "step.bmc", Action: plan.Update, Private: map[string]string{PrivateCmdlet: CmdletSetBmcCredential},
		Fingerprints: map[string]string{FingerprintPassword: f.fingerprint([]byte("Reviewed-Pw#12"))},
	}
	ar := f.apply("bmc", ch)
	if ar.Err == nil || !strings.Contains(ar.Err.Error(), "not the value the plan was made with") {
		t.Fatalf("apply: %v, want a refusal", ar.Err)
	}
	if n := len(f.ep.WSMan.Requests()); n != 0 {
		t.Errorf("%d requests reached the PEP", n)
	}
}

var errPlanted = errors.New("planted " + canaryBMC)

func TestRedactErr(t *testing.T) {
	tests := map[string]struct {
		err     error
		secrets []string
		want    string
		same    bool
	}{
		"clean":         {errors.New("pep east: refused"), []string{canaryBMC}, "pep east: refused", true},
		"holds secret":  {errPlanted, []string{canaryBMC}, "planted (sensitive value)", false},
		"short secret":  {errors.New("a b c"), []string{"b"}, "a b c", true},
		"empty secrets": {errPlanted, []string{""}, errPlanted.Error(), true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := redactErr(tc.err, tc.secrets...)
			if diff := cmp.Diff(tc.want, got.Error()); diff != "" {
				t.Errorf("text (-want +got):\n%s", diff)
			}
			if (got == tc.err) != tc.same {
				t.Errorf("same error = %v, want %v", got == tc.err, tc.same)
			}
		})
	}
}
