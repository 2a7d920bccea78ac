package steps

import (
	"context"
	"crypto/x509"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/runbook-dev/runbook/certcheck"
	"github.com/runbook-dev/runbook/clock"
	"github.com/runbook-dev/runbook/executor"
	"github.com/runbook-dev/runbook/executor/plan"
	"github.com/runbook-dev/runbook/pep"
	"github.com/runbook-dev/runbook/sim/certs"
	simpep "github.com/runbook-dev/runbook/sim/pep"
	simwsman "github.com/runbook-dev/runbook/sim/wsman"
	"github.com/runbook-dev/runbook/state"
	"github.com/zclconf/go-cty/cty"
)

// Canaries of the rotation tests.
const (
	canaryPFX   = "Cnry-Pfx-5tq8Lw"
	canaryShare = "Cnry-Share-9Xv2Kd"
	shareUNC    = `\\10.0.0.5\share\Certificates`
)

const externalStep = `
step "secret_rotation" "external" {
  pep               = pep.east
  kind              = "external"
  identity          = "adfs"
  certificate_dir   = "share/Certificates"
  certificate_share = "\\\\10.0.0.5\\share\\Certificates"
  share_username    = "CONTOSO\\certshare"
  share_password    = var.share_password
  pfx_password      = var.pfx_password
}
step "secret_rotation" "internal" {
  pep  = pep.east
  kind = "internal"
}
step "readiness_check" "ready" {
  pep = pep.east
}`

var rotationCA struct {
	once sync.Once
	ca   *certs.CA
	err  error
}

func testRotationCA(t *testing.T) *certs.CA {
	t.Helper()
	rotationCA.once.Do(func() {
		rotationCA.ca, rotationCA.err = certs.NewCA("rotation test root", time.Now().AddDate(-1, 0, 0), time.Now().AddDate(10, 0, 0))
	})
	if rotationCA.err != nil {
		t.Fatal(rotationCA.err)
	}
	return rotationCA.ca
}

// servedBy reads served certificates straight from the simulated PEP.
type servedBy struct{ ep *simpep.Endpoint }

func (s servedBy) Served(_ context.Context, host string) (*x509.Certificate, error) {
	if c := s.ep.PEP.ServedCertificate(host); c != nil {
		return c, nil
	}
	return nil, errNoServed
}

var errNoServed = errors.New("no endpoint answers")

// rotationFixture is a simulated AD FS stamp with its external
// certificates, a share and a valid certificate folder.
func rotationFixture(t *testing.T, flaw certs.Flaw) (*pepFixture, SecretRotation) {
	t.Helper()
	ca := testRotationCA(t)
	f := newPEPFixture(t, pepFixtureOptions{
		steps: externalStep,
		vars:  map[string]string{"pfx_password": canaryPFX, "share_password": canaryShare},
		sim: simpep.Config{CA: ca, RotationTime: 200 * time.Millisecond, TestTime: time.Millisecond,
			Stamp: simpep.StampInfo{IdentitySystem: "ADFS"}},
	})
	dir := filepath.Join(f.rb.Dir, "share", "Certificates")
	if _, err := ca.WriteExternal(certs.ExternalOptions{Dir: dir, Region: "local", FQDN: "azurestack.external",
		Password: canaryPFX, Now: time.Now(), Flaw: flaw}); err != nil {
		t.Fatal(err)
	}
	f.ep.PEP.AddShare(simpep.Share{UNC: shareUNC, Dir: dir, Username: `CONTOSO\certshare`, Password: canaryShare})
	return f, SecretRotation{peps: f.dialer, served: servedBy{f.ep}, poll: 20 * time.Millisecond}
}

func (f *pepFixture) planStep(st executor.StepType, name string, h *state.History) *executor.PlanResponse {
	f.t.Helper()
	s := f.rb.Steps[name]
	return st.Plan(context.Background(), &executor.PlanRequest{
		Address: s.Address(), Step: s, Config: f.decode(st, name), Runbook: f.rb, Clock: clock.Real,
		History: h, Fingerprint: f.fingerprint,
	})
}

func (f *pepFixture) decode(st executor.StepType, name string) (v cty.Value) {
	f.t.Helper()
	s := f.rb.Steps[name]
	cfg, diags := executor.DecodeStep(s, st, f.rb.EvalContext(nil, cty.NilVal))
	if diags.HasErrors() {
		f.t.Fatalf("decode %s: %s", name, diags.Error())
	}
	return cfg
}

// applyStep applies with the plan's change; handles collects journalled
// handles.
func (f *pepFixture) applyStep(st executor.StepType, name string, resp *executor.PlanResponse, handles *[]string) *executor.ApplyResponse {
	f.t.Helper()
	s := f.rb.Steps[name]
	ch := &plan.Change{Address: s.Address().String(), Action: resp.Action, Private: resp.Private, Fingerprints: resp.Fingerprints, After: resp.After}
	return st.Apply(context.Background(), &executor.ApplyRequest{
		Address: s.Address(), Step: s, Config: f.decode(st, name), Runbook: f.rb, Clock: clock.Real,
		Planned: ch, Attempt: 1, Fingerprint: f.fingerprint,
		Handle: func(h string) error { *handles = append(*handles, h); return nil },
	})
}

func (f *pepFixture) commands() []string {
	var out []string
	for _, e := range f.ep.Transcript() {
		out = append(out, e.Command)
	}
	return out
}

func count(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}

// TestSecretRotationExternal plans, applies and plans again: the plan
// shows every endpoint's new certificate beside the one it serves, apply
// journals the action plan id and verifies, the endpoints then serve the
// new certificates, and the next plan has nothing to do. No secret leaks.
func TestSecretRotationExternal(t *testing.T) {
	f, st := rotationFixture(t, certs.FlawNone)
	resp := f.planStep(st, "external", nil)
	if resp.Diagnostics.HasErrors() {
		t.Fatal(diagText(f.rb, resp.Diagnostics))
	}
	if resp.Action != plan.Update || resp.Private[PrivateRerun] != "false" {
		t.Fatalf("action %v %v (%s), want a rotation", resp.Action, resp.Private, resp.Reason)
	}
	want := len(certcheck.Endpoints(certcheck.ADFS)) - 1
	if n := len(resp.After.AsValueMap()); n != want {
		t.Errorf("plan shows %d endpoints, want %d", n, want)
	}
	arm := resp.Before.GetAttr("ARM Admin")
	if !arm.Type().HasAttribute("sha256") {
		t.Errorf("the served certificate of ARM Admin was not read: %#v", arm)
	}
	var handles []string
	ar := f.applyStep(st, "external", resp, &handles)
	if ar.Err != nil {
		t.Fatalf("apply: %v", ar.Err)
	}
	if len(handles) != 1 || handles[0] != ar.Result[ResultActionPlan] {
		t.Errorf("handles %q, result %v: want the action plan id journalled once", handles, ar.Result)
	}
	for folder, v := range resp.After.AsValueMap() {
		host := (certcheck.Endpoint{Label: labelOf(t, folder)}).Host("local", "azurestack.external")
		got := f.ep.PEP.ServedCertificate(strings.Replace(host, "*", "x", 1))
		if got == nil || certs.SHA256Thumbprint(got) != v.GetAttr("sha256").AsString() {
			t.Errorf("%s does not serve its new certificate", folder)
		}
	}
	cmds := f.commands()
	if count(cmds, "Start-SecretRotation") != 1 || count(cmds, "Test-AzureStack") != 3 {
		t.Errorf("commands %q: want one rotation, readiness at plan and apply, and the verification", cmds)
	}
	again := f.planStep(st, "external", &state.History{LastSuccess: ar.Result})
	if again.Diagnostics.HasErrors() || again.Action != plan.NoOp {
		t.Errorf("plan after apply: %v (%s) %s", again.Action, again.Reason, diagText(f.rb, again.Diagnostics))
	}
	assertNoRotationSecret(t, f, resp, again)
}

func labelOf(t *testing.T, folder string) string {
	for _, e := range certcheck.Endpoints(certcheck.ADFS) {
		if e.Folder == folder {
			return e.Label
		}
	}
	t.Fatalf("unknown folder %q", folder)
	return ""
}

func assertNoRotationSecret(t *testing.T, f *pepFixture, resps ...*executor.PlanResponse) {
	t.Helper()
	texts := f.simOutputs()
	for _, r := range resps {
		texts = append(texts, diagText(f.rb, r.Diagnostics), unmarkedParts(r.Before), unmarkedParts(r.After), r.Reason, r.Summary)
	}
	for _, text := range texts {
		for _, c := range []string{canaryPFX, canaryShare, canaryPEPPassword} {
			for _, form := range secretForms(c) {
				if strings.Contains(text, form) {
					t.Errorf("a secret leaked (as %q…)", form[:6])
				}
			}
		}
	}
}

// TestSecretRotationFlawsRefused: each flawed certificate is refused at
// plan with a diagnostic naming the folder, the file and the rule, and
// nothing runs on the stamp.
func TestSecretRotationFlawsRefused(t *testing.T) {
	tests := map[certs.Flaw]certcheck.Rule{
		certs.FlawWrongSAN: certcheck.RuleDNSNames, certs.FlawExpiresSoon: certcheck.RuleExpiry,
		certs.FlawAESEncryption: certcheck.RulePFXEncryption, certs.FlawChainOrder: certcheck.RuleChainOrder,
		certs.FlawKeyUsage: certcheck.RuleKeyUsage,
	}
	for flaw, rule := range tests {
		t.Run(flaw.String(), func(t *testing.T) {
			f, st := rotationFixture(t, flaw)
			resp := f.planStep(st, "external", nil)
			text := diagText(f.rb, resp.Diagnostics)
			file := `ADFS\ARM Admin\` + certs.FileName("ARM Admin")
			if !strings.Contains(text, file+` fails the "`+string(rule)+`" check`) {
				t.Errorf("diagnostics do not name %s and %q:\n%s", file, rule, text)
			}
			if n := count(f.commands(), "Start-SecretRotation") + count(f.commands(), "Test-AzureStack"); n != 0 {
				t.Errorf("a refused plan ran %d commands", n)
			}
		})
	}
}

// TestSecretRotationRerun: a failed rotation makes the next plan propose
// -ReRun, which completes the rotation.
func TestSecretRotationRerun(t *testing.T) {
	f, st := rotationFixture(t, certs.FlawNone)
	f.ep.PEP.FailNextRotations(1)
	resp := f.planStep(st, "external", nil)
	var handles []string
	if ar := f.applyStep(st, "external", resp, &handles); ar.Err == nil || !strings.Contains(ar.Err.Error(), "-ReRun") {
		t.Fatalf("apply = %v, want a failure that says -ReRun comes next", ar.Err)
	}
	next := f.planStep(st, "external", nil)
	if next.Action != plan.Update || next.Private[PrivateRerun] != "true" || !strings.Contains(next.Summary, "-ReRun") {
		t.Fatalf("plan after the failure: %v %q %v", next.Action, next.Summary, next.Private)
	}
	if ar := f.applyStep(st, "external", next, &handles); ar.Err != nil {
		t.Fatalf("rerun: %v", ar.Err)
	}
	var tr []string
	for _, e := range f.ep.Transcript() {
		if e.Command == "Start-SecretRotation" {
			tr = append(tr, e.Text())
		}
	}
	if len(tr) != 2 || !strings.Contains(tr[1], `name="ReRun"`) {
		t.Errorf("rotations %q, want a first run and a -ReRun", tr)
	}
	if again := f.planStep(st, "external", nil); again.Action != plan.NoOp {
		t.Errorf("plan after the rerun: %v (%s)", again.Action, again.Reason)
	}
}

// TestSecretRotationResume: a run that lost its session re-attaches to the
// journalled action plan with Get-ActionStatus and starts nothing.
func TestSecretRotationResume(t *testing.T) {
	f, st := rotationFixture(t, certs.FlawNone)
	resp := f.planStep(st, "external", nil)
	// An earlier run started the rotation and died: start it on a session
	// of its own and give up on it once the id is known.
	s, err := f.dialer.Dial(context.Background(), "east")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ids := make(chan string, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		call := pep.Call{Cmdlet: "Start-SecretRotation", Params: []pep.Param{
			{Name: "PfxFilesPath", Value: shareUNC},
			{Name: "PathAccessCredential", Value: pep.Credential{Username: `CONTOSO\certshare`, Password: canaryShare}, Secret: true},
			{Name: "CertificatePassword", Value: canaryPFX, Secret: true},
		}}
		call.Events = func(ev pep.Event) {
			if m := actionPlanLine.FindStringSubmatch(ev.Information); m != nil {
				select {
				case ids <- strings.ToLower(m[1]):
				default:
				}
			}
		}
		_, _ = s.Invoke(ctx, call)
	}()
	id := <-ids
	// The client dies: its connection goes, the action plan runs on.
	f.ep.WSMan.Inject(simwsman.Injection{Kind: simwsman.InjectDrop, Action: "Receive"})
	<-done
	cancel()
	ar := st.Resume(context.Background(), &executor.ResumeRequest{Handle: id, ApplyRequest: executor.ApplyRequest{
		Address: f.rb.Steps["external"].Address(), Step: f.rb.Steps["external"], Config: f.decode(st, "external"), Runbook: f.rb, Clock: clock.Real,
		Planned: &plan.Change{Action: resp.Action, Private: resp.Private, After: resp.After}, Attempt: 1, Fingerprint: f.fingerprint,
	}})
	if ar.Err != nil {
		t.Fatalf("resume: %v", ar.Err)
	}
	if ar.Result[ResultActionPlan] != id {
		t.Errorf("resumed %q, want %q", ar.Result[ResultActionPlan], id)
	}
	if n := f.ep.PEP.RotationCalls(); n != 1 {
		t.Errorf("%d Start-SecretRotation calls, want 1", n)
	}
}

// TestReadinessBlocks: a readiness warning is an error naming the test, at
// plan and at apply, for readiness_check and secret_rotation alike.
func TestReadinessBlocks(t *testing.T) {
	f, st := rotationFixture(t, certs.FlawNone)
	rc := ReadinessCheck{peps: f.dialer}
	if resp := f.planStep(rc, "ready", nil); resp.Diagnostics.HasErrors() || resp.Action != plan.Run {
		t.Fatalf("healthy stamp: %v %s", resp.Action, diagText(f.rb, resp.Diagnostics))
	}
	f.ep.PEP.SetTestResult("AzsInfraCapacity", "WARN", "capacity is low")
	for _, tc := range []struct {
		st   executor.StepType
		name string
	}{{rc, "ready"}, {st, "external"}, {st, "internal"}} {
		resp := f.planStep(tc.st, tc.name, nil)
		if text := diagText(f.rb, resp.Diagnostics); !strings.Contains(text, "Readiness test AzsInfraCapacity did not pass") || !strings.Contains(text, "capacity is low") {
			t.Errorf("%s plan:\n%s", tc.name, text)
		}
	}
	var handles []string
	ar := f.applyStep(rc, "ready", &executor.PlanResponse{Action: plan.Run}, &handles)
	if ar.Err == nil || !strings.Contains(ar.Err.Error(), "AzsInfraCapacity WARN") {
		t.Errorf("readiness_check apply = %v", ar.Err)
	}
	ar = f.applyStep(st, "internal", &executor.PlanResponse{Action: plan.Update, Private: map[string]string{PrivateRerun: "false"}}, &handles)
	if ar.Err == nil || !strings.Contains(ar.Err.Error(), "AzsInfraCapacity") {
		t.Errorf("secret_rotation apply = %v", ar.Err)
	}
	if n := count(f.commands(), "Start-SecretRotation"); n != 0 {
		t.Errorf("%d rotations started on a stamp that is not ready", n)
	}
}

// TestSecretRotationInternal: internal rotation is due without a journalled
// success within max_age.
func TestSecretRotationInternal(t *testing.T) {
	f, st := rotationFixture(t, certs.FlawNone)
	tests := []struct {
		h    *state.History
		want plan.Action
	}{
		{nil, plan.Update},
		{&state.History{LastSuccess: map[string]string{}, LastSuccessAt: time.Now().Add(-24 * time.Hour)}, plan.NoOp},
		{&state.History{LastSuccess: map[string]string{}, LastSuccessAt: time.Now().Add(-200 * 24 * time.Hour)}, plan.Update},
	}
	for _, tc := range tests {
		resp := f.planStep(st, "internal", tc.h)
		if resp.Diagnostics.HasErrors() || resp.Action != tc.want {
			t.Errorf("history %v: %v (%s) %s", tc.h, resp.Action, resp.Reason, diagText(f.rb, resp.Diagnostics))
		}
	}
	var handles []string
	resp := f.planStep(st, "internal", nil)
	if ar := f.applyStep(st, "internal", resp, &handles); ar.Err != nil || len(handles) != 1 {
		t.Fatalf("apply: %v, handles %q", ar.Err, handles)
	}
	if diff := cmp.Diff(1, count(f.commands(), "Start-SecretRotation")); diff != "" {
		t.Error(diff)
	}
}

// TestCloseShipsTranscripts: a session ends with Close-PrivilegedEndpoint,
// which copies the transcripts to the pep block's share.
func TestCloseShipsTranscripts(t *testing.T) {
	f := newPEPFixture(t, pepFixtureOptions{
		vars: map[string]string{"transcripts_password": canaryShare},
		pepBlock: `  transcripts_share    = "\\\\10.0.0.5\\transcripts"
  transcripts_username = "CONTOSO\\transcripts"
  transcripts_password = var.transcripts_password`,
	})
	s, err := f.dialer.Dial(context.Background(), "east")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Invoke(context.Background(), pep.Call{Cmdlet: "Get-AzureStackStampInformation"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(f.ep.ShippedTranscripts()) == 0 {
		t.Error("Close did not ship the transcripts")
	}
	for _, e := range f.ep.ShippedTranscripts() {
		for _, form := range secretForms(canaryShare) {
			if strings.Contains(e.Text(), form) {
				t.Error("the share password is in a transcript")
			}
		}
	}
}
