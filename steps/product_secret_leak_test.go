package steps

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/runbook-dev/runbook/executor"
	"github.com/runbook-dev/runbook/sim/certs"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// TestSecretsNeverLeak runs a whole import and rotation, and the failures
// that quote the stamp, and looks for the canary PFX password and client
// secret in everything the steps produce: diagnostics, errors, results,
// rendered plan values and outputs, the hub client's log and the stamp's
// request log.
func TestSecretsNeverLeak(t *testing.T) {
	f := rotateFixture(t, nil)
	var texts []string
	addDiags := func(resp *executor.PlanResponse) {
		for _, d := range resp.Diagnostics {
			texts = append(texts, d.Summary, d.Detail)
		}
		texts = append(texts, fmt.Sprint(plainValue(resp.Before)), fmt.Sprint(plainValue(resp.After)), fmt.Sprint(plainValue(resp.Outputs)))
		if !resp.Diagnostics.HasErrors() {
			// ctyjson of the parts that are not sensitive.
			out, _ := resp.Outputs.UnmarkDeep()
			b, err := ctyjson.Marshal(out, out.Type())
			if err != nil {
				t.Fatal(err)
			}
			texts = append(texts, string(b), resp.Before.GoString(), resp.Remote, fmt.Sprint(resp.Private, resp.Fingerprints))
		}
	}
	addApply := func(ar *executor.ApplyResponse) {
		if ar.Err != nil {
			texts = append(texts, ar.Err.Error(), fmt.Sprintf("%+v", ar.Err))
		}
		texts = append(texts, fmt.Sprint(ar.Result), ar.Outputs.GoString())
	}

	// A PFX whose password is not the runbook's: the wrong-password
	// diagnostic must not quote the one tried.
	f.writeFile("eventhub.pfx", f.pfx(certs.FlawNone, "another-password"))
	addDiags(f.planPS("cert", nil))

	// A good plan and apply. The planned After holds the password, marked:
	// proof that the canary really is in the values being rendered.
	f.writeFile("eventhub.pfx", f.pfx(certs.FlawNone, canaryPFXPassword))
	planned := f.planPS("cert", nil)
	if !strings.Contains(planned.After.GoString(), canaryPFXPassword) {
		t.Fatal("the planned After does not carry the (marked) password; the leak checks below would prove nothing")
	}
	addDiags(planned)
	ar := f.applyPS("cert", planned, nil)
	addApply(ar)

	// An import the stamp refuses after planning: its ARM error is quoted.
	f.writeFile("eventhub.pfx", f.pfx(certs.FlawExpired, canaryPFXPassword))
	refused := f.applyPS("cert", nil, nil)
	if refused.Err == nil {
		t.Fatal("import of an expired certificate succeeded")
	}
	addApply(refused)

	// The rotation.
	rec := &recorder{f: f}
	req := rec.request("rotate", f.planRA("rotate", false))
	var rr *executor.ApplyResponse
	f.run(func() { rr = NewRotateAction(f.conns).Apply(context.Background(), req) })
	if rr.Err != nil {
		t.Errorf("rotation: %v", rr.Err)
	}
	addApply(rr)
	for _, p := range rec.progress {
		texts = append(texts, p.Message)
	}

	for _, c := range f.srv.Calls() {
		texts = append(texts, c.Method+" "+c.Path+"?"+c.Query+" "+c.Fault)
	}
	texts = append(texts, f.log.String())
	if f.log.String() == "" {
		t.Error("the hub log is empty; nothing was checked")
	}
	assertNoLeak(t, "output", texts...)
}
