package steps

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/runbook-dev/runbook/clock"
	"github.com/runbook-dev/runbook/executor"
	"github.com/runbook-dev/runbook/pep"
)

// Apply opens a session on the PEP, runs the cmdlet the plan found with the
// password as a SecureString, and closes the session. It refuses a password
// other than the one the plan was made with.
func (t BMCPassword) Apply(ctx context.Context, req *executor.ApplyRequest) *executor.ApplyResponse {
	return t.apply(ctx, req)
}

// Resume runs the cmdlet again: nothing tells whether an interrupted run
// reached the BMCs, and setting the same credential twice has the effect of
// once.
func (t BMCPassword) Resume(ctx context.Context, req *executor.ResumeRequest) *executor.ApplyResponse {
	return t.apply(ctx, &req.ApplyRequest)
}

func (t BMCPassword) apply(ctx context.Context, req *executor.ApplyRequest) *executor.ApplyResponse {
	c := readBMCConfig(newStepConfig(req.Step, req.Config))
	if c.diags.HasErrors() {
		return failed(c.diags, false)
	}
	if pl := req.Planned; pl != nil && req.Fingerprint != nil {
		if want, ok := pl.Fingerprints[FingerprintPassword]; ok && req.Fingerprint([]byte(c.password)) != want {
			return &executor.ApplyResponse{Err: errors.New("the BMC password is not the value the plan was made with; run plan again")}
		}
	}
	secrets := c.secrets(req.Runbook)
	s, err := t.peps.PEP(ctx, c.pepName)
	if err != nil {
		return &executor.ApplyResponse{Err: redactErr(err, secrets...), Retryable: pep.Retryable(err)}
	}
	defer func() {
		// The outcome is settled; a session left open expires on the PEP.
		_ = closePEP(ctx, req.Clock, s)
	}()
	cmdlet := ""
	if req.Planned != nil {
		cmdlet = req.Planned.Private[PrivateCmdlet]
	}
	if cmdlet == "" {
		if cmdlet, err = findCmdlet(ctx, s); err != nil {
			return &executor.ApplyResponse{Err: redactErr(fmt.Errorf("pep %s: %w", c.pepName, err), secrets...), Retryable: pep.Retryable(err)}
		}
	}
	call, err := c.call(cmdlet)
	if err != nil {
		return &executor.ApplyResponse{Err: err}
	}
	report(req, 0, fmt.Sprintf("running %s on pep %s", cmdlet, c.pepName))
	res, err := s.Invoke(ctx, call)
	if err == nil && len(res.Errors) > 0 {
		err = nonTerminating(cmdlet, res.Errors)
	}
	if err != nil {
		return &executor.ApplyResponse{Err: redactErr(c.invokeError(cmdlet, err), secrets...), Retryable: pep.Retryable(err)}
	}
	report(req, 100, "BMC credential set")
	resp := &executor.ApplyResponse{Outputs: c.outputs(cmdlet)}
	if req.Fingerprint != nil {
		resp.Result = map[string]string{ResultPasswordFingerprint: c.fingerprint(req.Fingerprint)}
		if c.user != "" && !c.userSensitive {
			resp.Result[ResultUser] = c.user
		}
	}
	return resp
}

// call is the cmdlet invocation: the password only ever as a Secret
// parameter, which the client sends as an encrypted SecureString.
func (c *bmcConfig) call(cmdlet string) (pep.Call, error) {
	call := pep.Call{Cmdlet: cmdlet, Params: []pep.Param{{Name: "BmcPassword", Value: c.password, Secret: true}}}
	switch cmdlet {
	case CmdletSetBmcCredential:
		if c.user != "" {
			call.Params = append(call.Params, pep.Param{Name: "BmcUser", Value: c.user})
		}
		if c.bypass {
			call.Params = append(call.Params, pep.Param{Name: "BypassBMCUpdate", Value: true})
		}
	case CmdletSetBmcPassword:
		if c.user != "" || c.bypass {
			return pep.Call{}, fmt.Errorf("pep %s offers only Set-BmcPassword, which cannot set user or bypass_bmc_update; run plan again", c.pepName)
		}
	default:
		return pep.Call{}, fmt.Errorf("pep %s: %q is not a cmdlet that sets BMC credentials; run plan again", c.pepName, cmdlet)
	}
	return call, nil
}

// invokeError describes a failed run of the cmdlet.
func (c *bmcConfig) invokeError(cmdlet string, err error) error {
	var ce *pep.CommandError
	if errors.As(err, &ce) {
		return fmt.Errorf("pep %s: %s failed: %s (FullyQualifiedErrorId %s); the BMC credential may be set on some nodes only: fix the cause and apply again",
			c.pepName, cmdlet, strings.TrimSuffix(ce.Record.Message, "."), ce.Record.FullyQualifiedErrorId)
	}
	return fmt.Errorf("pep %s: %w; whether the BMCs were changed is unknown: apply again, which sets the same credential again", c.pepName, err)
}

// nonTerminating turns the error records a cmdlet wrote without failing
// into an error: a node whose BMC was not updated is a failure of the step.
func nonTerminating(cmdlet string, recs []pep.ErrorRecord) error {
	rec := recs[0]
	more := ""
	if len(recs) > 1 {
		more = fmt.Sprintf(" (and %d more errors)", len(recs)-1)
	}
	return &pep.CommandError{Cmdlet: cmdlet, Record: pep.ErrorRecord{
		Message:               rec.Message + more,
		FullyQualifiedErrorId: rec.FullyQualifiedErrorId,
		Category:              rec.Category,
	}}
}

// closeTimeout bounds closing a session, which runs even when the step's
// context has ended.
const closeTimeout = 30 * time.Second

// closePEP closes s on a context of its own, so that a step that timed
// out or was interrupted still gives its session back to the PEP.
func closePEP(ctx context.Context, clk clock.Clock, s pep.Session) error {
	cctx, cancel := clock.WithTimeout(context.WithoutCancel(ctx), clk, closeTimeout)
	defer cancel()
	return s.Close(cctx)
}

// findCmdlet asks the PEP which of Set-BmcCredential and Set-BmcPassword it
// exposes, preferring the newer. Get-Command writes a non-terminating
// CommandNotFound error for a name the endpoint lacks; those are expected.
func findCmdlet(ctx context.Context, s pep.Session) (string, error) {
	res, err := s.Invoke(ctx, pep.Call{Cmdlet: "Get-Command", Params: []pep.Param{
		{Name: "Name", Value: []string{CmdletSetBmcCredential, CmdletSetBmcPassword}},
	}})
	if err != nil {
		return "", err
	}
	found := map[string]bool{}
	for _, o := range res.Objects() {
		switch v := o.(type) {
		case map[string]any:
			if name, ok := v["Name"].(string); ok {
				found[strings.ToLower(name)] = true
			}
		case string:
			found[strings.ToLower(v)] = true
		}
	}
	for _, name := range []string{CmdletSetBmcCredential, CmdletSetBmcPassword} {
		if found[strings.ToLower(name)] {
			return name, nil
		}
	}
	return "", errNoBMCCmdlet
}

// errNoBMCCmdlet is findCmdlet's answer when Get-Command found neither
// cmdlet: the endpoint lacks them, as opposed to a question that never got
// its answer.
var errNoBMCCmdlet = errors.New("the PEP exposes neither Set-BmcCredential nor Set-BmcPassword to this account")
