package steps

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"
	"unicode/utf16"

	"github.com/hashicorp/hcl/v2"
	"github.com/runbook-dev/runbook/addrs"
	"github.com/runbook-dev/runbook/clock"
	"github.com/runbook-dev/runbook/executor"
	"github.com/runbook-dev/runbook/executor/plan"
	planrender "github.com/runbook-dev/runbook/executor/render"
	"github.com/runbook-dev/runbook/lang"
	"github.com/runbook-dev/runbook/pep"
	"github.com/runbook-dev/runbook/pep/psrp"
	simpep "github.com/runbook-dev/runbook/sim/pep"
	simwsman "github.com/runbook-dev/runbook/sim/wsman"
	"github.com/runbook-dev/runbook/state"
	"github.com/zclconf/go-cty/cty"
)

// Canaries of the PEP tests: the PEP account's password and a BMC password
// (16 characters, mixed classes, so that the BMCs accept it). Every output
// is searched for them.
const (
	pepUser           = `AZURESTACK\CloudAdmin`
	canaryPEPPassword = "canary-pep-password-Jq8Vt3"
	canaryBMC         = "Cnry-Bmc#7f3aQz9"
)

// pepMode is a way of reaching the simulated PEP.
type pepMode struct {
	server simwsman.Config
	auth   pep.Auth
}

var pepModes = map[string]pepMode{
	"basic over http": {server: simwsman.Config{Auth: simwsman.AuthBasic}, auth: pep.AuthBasic},
	"sealed ntlm over http": {
		server: simwsman.Config{Auth: simwsman.AuthNegotiate, Sealing: simwsman.SealRequired},
		auth:   pep.AuthNTLM,
	},
}

// pepFixture is a simulated PEP on loopback and a runbook whose pep block
// names the real stamp's ERCS addresses; the dialer redirects it to the
// simulator, as -simulate does.
type pepFixture struct {
	t      *testing.T
	ep     *simpep.Endpoint
	rb     *lang.Runbook
	dialer *PEPDialer
	log    *logLines
	key    []byte
}

// pepFixtureOptions vary the stamp and the runbook.
type pepFixtureOptions struct {
	mode string // a pepModes key; default "basic over http"
	sim  simpep.Config
	// steps are the step blocks; default one step "bmc" with password =
	// var.bmc_password.
	steps string
	// bmcPassword is var.bmc_password; default canaryBMC.
	bmcPassword *string
	// pepPassword is what the runbook gives as the PEP password; default
	// the simulator's.
	pepPassword string
	// vars are further sensitive string variables; pepBlock adds
	// arguments to the pep block.
	vars     map[string]string
	pepBlock string
}

const bmcStep = `
step "bmc_password" "bmc" {
  pep      = pep.east
  password = var.bmc_password
}`

func newPEPFixture(t *testing.T, o pepFixtureOptions) *pepFixture {
	t.Helper()
	if o.mode == "" {
		o.mode = "basic over http"
	}
	if o.steps == "" {
		o.steps = bmcStep
	}
	bmcPw := canaryBMC
	if o.bmcPassword != nil {
		bmcPw = *o.bmcPassword
	}
	if o.pepPassword == "" {
		o.pepPassword = canaryPEPPassword
	}
	m := pepModes[o.mode]
	pc := o.sim
	if pc.BMCUpdateTime == 0 {
		pc.BMCUpdateTime = time.Nanosecond
	}
	wc := m.server
	wc.Username, wc.Password = pepUser, canaryPEPPassword
	ep, err := simpep.Start(pc, wc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ep.Close() })

	src := fmt.Sprintf(`
variable "bmc_password" {
  type      = string
  sensitive = true
}
variable "pep_password" {
  type      = string
  sensitive = true
}
pep "east" {
  addresses = ["10.0.0.224", "10.0.0.225", "10.0.0.226"]
  username  = "AZURESTACK\\CloudAdmin"
  password  = var.pep_password
%s
}
%s`, o.pepBlock, o.steps)
	vars := []lang.VarArg{{Name: "bmc_password", Value: bmcPw}, {Name: "pep_password", Value: o.pepPassword}}
	for _, name := range slices.Sorted(maps.Keys(o.vars)) {
		src += fmt.Sprintf("\nvariable %q {\n  type      = string\n  sensitive = true\n}\n", name)
		vars = append(vars, lang.VarArg{Name: name, Value: o.vars[name]})
	}
	rb, diags := lang.Load(fstest.MapFS{"main.runbook.hcl": {Data: []byte(src)}}, ".", lang.Options{Vars: vars})
	if diags.HasErrors() {
		t.Fatalf("load: %s", diags.Error())
	}
	rb.Dir = t.TempDir()
	f := &pepFixture{t: t, ep: ep, rb: rb, log: &logLines{}, key: []byte("plan key")}
	f.dialer = NewPEPDialer(rb, PEPOptions{
		Logger: printfLogger(f.log.logf),
		Override: PEPTarget{
			Addresses: []string{ep.WSMan.Host()}, Port: ep.WSMan.Port(), Auth: m.auth,
		}.Override(),
	})
	return f
}

// fingerprint is the plan's HMAC.
func (f *pepFixture) fingerprint(b []byte) string { return executor.Fingerprint(f.key, b) }

// plan plans the runbook through the executor, as `runbook plan` does,
// with the last success of each step taken from results.
func (f *pepFixture) plan(results map[string]map[string]string) (*executor.Planned, string) {
	f.t.Helper()
	p, diags := executor.Plan(context.Background(), executor.PlanOptions{
		Runbook: f.rb, Registry: executor.NewRegistry(NewBMCPassword(f.dialer)),
		Clock: clock.Real, Key: f.key,
		History: func(addr addrs.Step) *state.History {
			if r, ok := results[addr.String()]; ok {
				// The journal keeps the keys the type declares.
				return &state.History{LastSuccess: declared(NewBMCPassword(nil), r)}
			}
			return nil
		},
	})
	return p, diagText(f.rb, diags)
}

// request is a PlanRequest for step name, decoded as the executor does.
func (f *pepFixture) request(name string, h *state.History) *executor.PlanRequest {
	f.t.Helper()
	s := f.rb.Steps[name]
	cfg, diags := executor.DecodeStep(s, BMCPassword{}, f.rb.EvalContext(nil, cty.NilVal))
	if diags.HasErrors() {
		f.t.Fatalf("decode %s: %s", name, diags.Error())
	}
	return &executor.PlanRequest{
		Address: s.Address(), Step: s, Config: cfg, Runbook: f.rb, Clock: clock.Real,
		History: h, Fingerprint: f.fingerprint,
	}
}

// apply applies step name with the planned change (nil for none).
func (f *pepFixture) apply(name string, planned *plan.Change) *executor.ApplyResponse {
	f.t.Helper()
	req := f.request(name, nil)
	var progress []string
	resp := BMCPassword{peps: f.dialer}.Apply(context.Background(), &executor.ApplyRequest{
		Address: req.Address, Step: req.Step, Config: req.Config, Runbook: f.rb, Clock: clock.Real,
		Planned: planned, Attempt: 1, Fingerprint: f.fingerprint,
		Progress: func(p executor.Progress) { progress = append(progress, p.Message) },
	})
	f.log.logf("progress: %s", strings.Join(progress, "; "))
	return resp
}

// outputs renders a plan in every format and encodes its values, for the
// canary search.
func (f *pepFixture) outputs(p *executor.Planned) (text string, all []string) {
	f.t.Helper()
	var tb, jb, mb bytes.Buffer
	if err := planrender.Text(&tb, p.Plan, planrender.Options{}); err != nil {
		f.t.Fatal(err)
	}
	if err := planrender.JSON(&jb, p.Plan); err != nil {
		f.t.Fatal(err)
	}
	if err := planrender.Markdown(&mb, p.Plan); err != nil {
		f.t.Fatal(err)
	}
	file, err := plan.Encode(p.Plan, f.key)
	if err != nil {
		f.t.Fatal(err)
	}
	all = []string{tb.String(), jb.String(), mb.String(), string(file)}
	for _, ch := range p.Changes {
		all = append(all, fmt.Sprint(ch.Private), fmt.Sprint(ch.Fingerprints), ch.Reason, ch.Summary, ch.Remote)
		for _, v := range []cty.Value{ch.Before, ch.After, p.Outputs(ch.Address)} {
			all = append(all, unmarkedParts(v))
		}
	}
	return tb.String(), all
}

// unmarkedParts renders the parts of v that are not marked sensitive.
func unmarkedParts(v cty.Value) string {
	if v == cty.NilVal {
		return ""
	}
	clean, err := cty.Transform(v, func(_ cty.Path, v cty.Value) (cty.Value, error) {
		if v.HasMark(lang.Sensitive) {
			return cty.NullVal(v.Type()), nil
		}
		return v, nil
	})
	if err != nil {
		return err.Error()
	}
	clean, _ = clean.UnmarkDeep()
	return clean.GoString()
}

// diagText prints diagnostics as the CLI does, source snippets included.
func diagText(rb *lang.Runbook, diags hcl.Diagnostics) string {
	if len(diags) == 0 {
		return ""
	}
	var b bytes.Buffer
	w := hcl.NewDiagnosticTextWriter(&b, rb.Files, 100, false)
	_ = w.WriteDiagnostics(diags)
	return b.String()
}

// simOutputs are the simulator's records: the PEP's transcript and the
// WS-Management request log, with every base64 payload unpacked down to
// the PSRP messages' CLIXML.
func (f *pepFixture) simOutputs() []string {
	var out []string
	for _, e := range f.ep.Transcript() {
		out = append(out, e.Text())
	}
	return append(out, decodeTraffic(f.ep.WSMan.Requests())...)
}

var base64Run = regexp.MustCompile(`>([A-Za-z0-9+/=\s]{24,})<`)

func decodeTraffic(recs []simwsman.Record) []string {
	var out []string
	partial := map[uint64][]byte{}
	for _, r := range recs {
		out = append(out, r.Body, r.Reply, r.Command, r.Error)
		out = append(out, r.Arguments...)
		for _, in := range r.Input {
			out = append(out, string(in.Data))
		}
		for _, text := range append([]string{r.Body, r.Reply}, r.Arguments...) {
			runs := base64Run.FindAllStringSubmatch(text, -1)
			runs = append(runs, []string{"", text})
			for _, m := range runs {
				raw, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(m[1]), ""))
				if err != nil {
					continue
				}
				out = append(out, string(raw))
				frags, _ := psrp.ParseFragments(raw)
				for _, fr := range frags {
					partial[fr.ObjectID] = append(partial[fr.ObjectID], fr.Blob...)
					if !fr.End {
						continue
					}
					if msg, err := psrp.ParseMessage(partial[fr.ObjectID]); err == nil {
						out = append(out, string(msg.Data))
					}
					delete(partial, fr.ObjectID)
				}
			}
		}
	}
	return out
}

// secretForms are the ways a secret could show up: as it is, in UTF-16LE
// (a SecureString's plain text) and base64 of either.
func secretForms(s string) []string {
	var u16 []byte
	for _, c := range utf16.Encode([]rune(s)) {
		u16 = append(u16, byte(c), byte(c>>8))
	}
	return []string{s, string(u16), base64.StdEncoding.EncodeToString([]byte(s)), base64.StdEncoding.EncodeToString(u16)}
}

// assertNoCanary fails when any text holds a PEP-test canary in any form.
func assertNoCanary(t *testing.T, where string, texts ...string) {
	t.Helper()
	for _, text := range texts {
		for _, c := range []string{canaryBMC, canaryPEPPassword} {
			for _, form := range secretForms(c) {
				if strings.Contains(text, form) {
					t.Errorf("%s holds a canary secret (as %q…)", where, form[:6])
					return
				}
			}
		}
	}
}

// logLines collects log lines from any goroutine.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *logLines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// declared returns the part of result that t declares for the journal.
func declared(t executor.StepType, result map[string]string) map[string]string {
	kept := map[string]string{}
	for _, k := range t.ResultKeys() {
		if v, ok := result[k]; ok {
			kept[k] = v
		}
	}
	return kept
}
