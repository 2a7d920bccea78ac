package steps

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/runbook-dev/runbook/clock"
	"github.com/runbook-dev/runbook/executor"
	"github.com/runbook-dev/runbook/pep"
)

// actionPlanLine is the line Start-SecretRotation writes when its action
// plan starts and ends: "ActionPlanInstanceID <id> CurrentStatus: <s>"
// (Rotate secrets in Azure Stack Hub, 2021 and 2022).
var actionPlanLine = regexp.MustCompile(`(?i)ActionPlanInstanceID\W+([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})`)

// pollInterval is how often Resume asks Get-ActionStatus.
const pollInterval = time.Minute

// Apply checks readiness again, runs Start-SecretRotation as planned and
// verifies an external rotation.
func (t SecretRotation) Apply(ctx context.Context, req *executor.ApplyRequest) *executor.ApplyResponse {
	c := readSRConfig(newStepConfig(req.Step, req.Config))
	if c.diags.HasErrors() {
		return failed(c.diags, false)
	}
	if pl := req.Planned; pl != nil && req.Fingerprint != nil && c.kind == KindExternal {
		for key, v := range map[string]string{FingerprintPFXPassword: c.pfxPassword, FingerprintSharePassword: c.sharePassword} {
			if want, ok := pl.Fingerprints[key]; ok && req.Fingerprint([]byte(v)) != want {
				return &executor.ApplyResponse{Err: fmt.Errorf("%s is not the value the plan was made with; run plan again", key)}
			}
		}
	}
	rerun := req.Planned != nil && req.Planned.Private[PrivateRerun] == "true"
	secrets := c.secrets(req.Runbook)
	s, err := t.peps.PEP(ctx, c.pepName)
	if err != nil {
		return &executor.ApplyResponse{Err: redactErr(err, secrets...), Retryable: pep.Retryable(err)}
	}
	defer func() { _ = closePEP(ctx, req.Clock, s) }()
	if c.readiness {
		report(req, 0, "Test-AzureStack -Group "+GroupSecretRotationReadiness)
		outcomes, err := runTestAzureStack(ctx, s, GroupSecretRotationReadiness, nil)
		if err != nil {
			return &executor.ApplyResponse{Err: redactErr(fmt.Errorf("pep %s: readiness tests: %w", c.pepName, err), secrets...), Retryable: pep.Retryable(err)}
		}
		if bad := blocking(outcomes); len(bad) > 0 {
			return &executor.ApplyResponse{Err: fmt.Errorf("pep %s: the stamp is not ready for secret rotation: %s; nothing was started", c.pepName, describeBlocking(bad))}
		}
	}
	// The plan may be old: a rotation someone started since must not be
	// doubled.
	if last, err := lastRotation(ctx, s); err == nil && last.running() {
		return &executor.ApplyResponse{Err: fmt.Errorf("pep %s: action plan %s of Start-SecretRotation is running; wait until it ends and plan again", c.pepName, orDefault(last.ID, "(no id)"))}
	}
	return t.start(ctx, req, c, s, rerun, secrets)
}

// start runs Start-SecretRotation, journalling the action plan id as soon
// as the PEP names it.
func (t SecretRotation) start(ctx context.Context, req *executor.ApplyRequest, c *srConfig, s pep.Session, rerun bool, secrets []string) *executor.ApplyResponse {
	call := pep.Call{Cmdlet: "Start-SecretRotation"}
	switch {
	case rerun && c.kind == KindInternal:
		call.Params = []pep.Param{{Name: "Internal", Value: true}, {Name: "ReRun", Value: true}}
	case rerun:
		call.Params = []pep.Param{{Name: "ReRun", Value: true}}
	case c.kind == KindInternal:
		call.Params = []pep.Param{{Name: "Internal", Value: true}}
	default:
		call.Params = []pep.Param{
			{Name: "PfxFilesPath", Value: c.share},
			{Name: "PathAccessCredential", Value: pep.Credential{Username: c.shareUser, Password: c.sharePassword}, Secret: true},
			{Name: "CertificatePassword", Value: c.pfxPassword, Secret: true},
		}
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var mu sync.Mutex
	id, handleErr := "", error(nil)
	call.Events = func(ev pep.Event) {
		if ev.Progress != nil {
			report(req, float64(ev.Progress.Percent), ev.Progress.Activity+": "+ev.Progress.Status)
			return
		}
		m := actionPlanLine.FindStringSubmatch(ev.Information)
		mu.Lock()
		defer mu.Unlock()
		if m == nil || id != "" {
			return
		}
		id = strings.ToLower(m[1])
		if req.Handle != nil {
			if handleErr = req.Handle(id); handleErr != nil {
				// The journal must know the rotation before it goes on.
				cancel()
			}
		}
		report(req, 0, "action plan "+id+" started")
	}
	what := "Start-SecretRotation"
	if rerun {
		what += " -ReRun"
	}
	report(req, 0, "running "+what+" on pep "+c.pepName)
	res, err := s.Invoke(runCtx, call)
	mu.Lock()
	gotID, herr := id, handleErr
	mu.Unlock()
	if herr != nil {
		return &executor.ApplyResponse{Err: fmt.Errorf("journal the action plan %s: %w; the rotation was stopped", gotID, herr)}
	}
	if err == nil && len(res.Errors) > 0 {
		err = nonTerminating("Start-SecretRotation", res.Errors)
	}
	var ce *pep.CommandError
	switch {
	case errors.As(err, &ce):
		return &executor.ApplyResponse{Err: redactErr(fmt.Errorf("pep %s: %s failed: %s (FullyQualifiedErrorId %s); plan again: the next plan proposes Start-SecretRotation -ReRun",
			c.pepName, what, strings.TrimSuffix(ce.Record.Message, "."), ce.Record.FullyQualifiedErrorId), secrets...)}
	case err != nil:
		// The session dropped or timed out while the action plan runs on
		// the stamp: re-attach, never start again.
		return &executor.ApplyResponse{Err: redactErr(fmt.Errorf("pep %s: lost %s (action plan %s): %w; apply again to re-attach", c.pepName, what, orDefault(gotID, "not named yet"), err), secrets...), Unknown: true}
	}
	return t.finish(ctx, req, c, s, gotID, secrets)
}

// finish verifies an external rotation and builds the response.
func (t SecretRotation) finish(ctx context.Context, req *executor.ApplyRequest, c *srConfig, s pep.Session, id string, secrets []string) *executor.ApplyResponse {
	if c.kind == KindExternal {
		report(req, 100, "Test-AzureStack -Include "+TestExternalCertificates)
		outcomes, err := runTestAzureStack(ctx, s, "", []string{TestExternalCertificates})
		if err != nil {
			return &executor.ApplyResponse{Err: redactErr(fmt.Errorf("pep %s: the rotation completed, but its verification failed to run: %w", c.pepName, err), secrets...), Retryable: pep.Retryable(err)}
		}
		if bad := blocking(outcomes); len(bad) > 0 {
			return &executor.ApplyResponse{Err: fmt.Errorf("pep %s: the rotation completed, but %s", c.pepName, describeBlocking(bad))}
		}
	}
	report(req, 100, "secret rotation completed")
	resp := &executor.ApplyResponse{Result: map[string]string{ResultActionPlan: id}}
	var tp map[string]string
	if req.Planned != nil {
		resp.Result[ResultFiles] = req.Planned.Private[PrivateFiles]
		tp = plannedThumbprints(req)
	}
	resp.Outputs = c.outputs(req.Planned != nil && req.Planned.Private[PrivateRerun] == "true", tp)
	return resp
}

// plannedThumbprints reads the thumbprints back from the planned outputs.
func plannedThumbprints(req *executor.ApplyRequest) map[string]string {
	out := map[string]string{}
	v := req.Planned.After
	if v.IsNull() || !v.IsKnown() || !v.Type().IsObjectType() {
		return out
	}
	for folder, e := range v.AsValueMap() {
		if e.Type().IsObjectType() && e.Type().HasAttribute("sha256") {
			if s := e.GetAttr("sha256"); s.IsKnown() && !s.IsNull() {
				out[folder] = s.AsString()
			}
		}
	}
	return out
}

// Resume re-attaches to the rotation an earlier run started: it polls
// Get-ActionStatus -FunctionName Start-SecretRotation until the journalled
// action plan ends. Without a journalled id, a running rotation is taken
// to be this step's; when none runs, the intent never reached the stamp
// (the id is written as the action plan starts) and the rotation starts.
func (t SecretRotation) Resume(ctx context.Context, req *executor.ResumeRequest) *executor.ApplyResponse {
	c := readSRConfig(newStepConfig(req.Step, req.Config))
	if c.diags.HasErrors() {
		return failed(c.diags, false)
	}
	secrets := c.secrets(req.Runbook)
	clk := req.Clock
	if clk == nil {
		clk = clock.Real
	}
	poll := t.poll
	if poll <= 0 {
		poll = pollInterval
	}
	failures := 0
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			if err := clk.Sleep(ctx, poll); err != nil {
				return &executor.ApplyResponse{Err: err, Unknown: true}
			}
		}
		s, err := t.peps.PEP(ctx, c.pepName)
		if err != nil {
			if failures++; failures < 5 && pep.Retryable(err) {
				continue
			}
			return &executor.ApplyResponse{Err: redactErr(err, secrets...), Unknown: true}
		}
		last, err := lastRotation(ctx, s)
		if err != nil {
			_ = closePEP(ctx, req.Clock, s)
			if failures++; failures < 5 && pep.Retryable(err) {
				continue
			}
			return &executor.ApplyResponse{Err: redactErr(err, secrets...), Unknown: true}
		}
		failures = 0
		id := req.Handle
		switch {
		case last == nil || (id == "" && !last.running()):
			// Nothing ran: start as planned.
			defer func() { _ = closePEP(ctx, req.Clock, s) }()
			return t.start(ctx, &req.ApplyRequest, c, s, req.Planned != nil && req.Planned.Private[PrivateRerun] == "true", secrets)
		case id != "" && last.ID != "" && !strings.EqualFold(last.ID, id):
			_ = closePEP(ctx, req.Clock, s)
			return &executor.ApplyResponse{Err: fmt.Errorf("pep %s: Get-ActionStatus reports action plan %s, not the journalled %s: how %s ended cannot be read; check the stamp, then plan again", c.pepName, last.ID, id, id)}
		case last.running():
			report(&req.ApplyRequest, -1, "action plan "+orDefault(last.ID, id)+" still running")
			_ = closePEP(ctx, req.Clock, s)
			continue
		case last.failed():
			_ = closePEP(ctx, req.Clock, s)
			return &executor.ApplyResponse{Err: fmt.Errorf("pep %s: action plan %s of Start-SecretRotation failed; plan again: the next plan proposes Start-SecretRotation -ReRun", c.pepName, orDefault(last.ID, id))}
		default:
			defer func() { _ = closePEP(ctx, req.Clock, s) }()
			return t.finish(ctx, &req.ApplyRequest, c, s, orDefault(last.ID, id), secrets)
		}
	}
}
