package steps

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/runbook-dev/runbook/executor"
	"github.com/runbook-dev/runbook/hub"
	"github.com/zclconf/go-cty/cty"
)

// Apply starts the rotation, has the executor journal its operation URL
// (ApplyRequest.Handle) before anything else, and polls it on the hub
// client's clock, reporting progress, until it ends. It refuses to start
// when a rotation is already running on the stamp or the deployed version
// changed since the plan.
func (t RotateAction) Apply(ctx context.Context, req *executor.ApplyRequest) *executor.ApplyResponse {
	c, client, resp := t.prepare(ctx, req)
	if resp != nil {
		return resp
	}
	p, err := c.read(ctx, client)
	if err != nil {
		return &executor.ApplyResponse{Err: err, Retryable: retryable(err)}
	}
	switch {
	case p.running() && req.Attempt > 1:
		// An earlier attempt of this step may have started it (a timed-out
		// attempt is retried by the executor); it is never started twice.
		return &executor.ApplyResponse{Err: fmt.Errorf(
			"hub %s: a secret rotation of %s is running on the stamp, perhaps started by an earlier attempt of this step; "+
				"it is not started again: apply again to re-attach to it, or wait for it to end", c.hubName, c.productID)}
	case p.running():
		return &executor.ApplyResponse{Err: fmt.Errorf(
			"hub %s: a secret rotation of %s is already running on the stamp, not started by this run; wait for it to end and plan again",
			c.hubName, c.productID)}
	}
	if pl := req.Planned; pl != nil && pl.Private["version"] != "" && pl.Private["version"] != version(p.dep) {
		return &executor.ApplyResponse{Err: fmt.Errorf(
			"hub %s: %s is now at version %s, not %s as planned; run plan again",
			c.hubName, c.productID, version(p.dep), pl.Private["version"])}
	}
	return c.start(ctx, client, req, p)
}

// Resume re-attaches to the rotation an earlier run started. With a
// journalled operation URL it polls that URL. Without one the run stopped
// between its intent and the handle, so it reads the deployment: a rotation
// in progress cannot be re-attached to (the operator must wait for it); a
// rotation that ended since the plan — the secrets uploaded then are now
// deployed, or the deployment moved to SecretRotationSucceeded — is taken
// as ours; a failure since the plan is reported; otherwise nothing reached
// the stamp and the rotation is started.
func (t RotateAction) Resume(ctx context.Context, req *executor.ResumeRequest) *executor.ApplyResponse {
	c, client, resp := t.prepare(ctx, &req.ApplyRequest)
	if resp != nil {
		return resp
	}
	if req.Handle != "" {
		return c.watch(ctx, client, &req.ApplyRequest, hub.ResumeRotation(c.productID, req.Handle))
	}
	p, err := c.read(ctx, client)
	if err != nil {
		return &executor.ApplyResponse{Err: err, Retryable: retryable(err)}
	}
	planned := map[string]string{}
	if req.Planned != nil && req.Planned.Private != nil {
		planned = req.Planned.Private
	}
	changed := !eqFold(p.status(), planned["status"])
	switch {
	case p.running():
		return &executor.ApplyResponse{Err: fmt.Errorf(
			"hub %s: a secret rotation of %s is running on the stamp, but this run journalled no operation for it, so it cannot re-attach; "+
				"wait until the admin portal shows it ended, then apply again", c.hubName, c.productID)}
	case changed && eqFold(p.status(), deploymentRotationError):
		return &executor.ApplyResponse{Err: fmt.Errorf(
			"hub %s: the secret rotation of %s ended with status %s since the plan: %s",
			c.hubName, c.productID, p.status(), p.lastError())}
	case len(p.uploaded()) == 0 && eqFold(p.status(), deploymentRotated) &&
		(changed || planned["uploaded"] != "" || planned["expect_upload"] == "true"):
		return c.succeeded(p.dep, "", "Succeeded")
	}
	return c.start(ctx, client, &req.ApplyRequest, p)
}

// prepare reads the configuration and connects.
func (t RotateAction) prepare(ctx context.Context, req *executor.ApplyRequest) (*raConfig, *hub.Client, *executor.ApplyResponse) {
	c := readRAConfig(newStepConfig(req.Step, req.Config))
	if c.diags.HasErrors() {
		return nil, nil, failed(c.diags, false)
	}
	client, _, err := t.hubs.Hub(ctx, c.hubName)
	if err != nil {
		return nil, nil, &executor.ApplyResponse{Err: err, Retryable: retryable(err)}
	}
	return c, client, nil
}

// start sends rotateSecrets, journals the URL the rotation is followed by
// and watches it.
func (c *raConfig) start(ctx context.Context, client *hub.Client, req *executor.ApplyRequest, p *productState) *executor.ApplyResponse {
	report(req, 0, "starting the secret rotation")
	op, err := client.RotateSecrets(ctx, c.productID)
	switch {
	case hub.IsConflict(err):
		return &executor.ApplyResponse{Err: fmt.Errorf("%w; another rotation started since this step read the stamp: wait for it to end and plan again", err)}
	case errors.Is(err, hub.ErrOutcomeUnknown):
		return &executor.ApplyResponse{Err: fmt.Errorf("%w; run apply again: it reads the deployment before it sends anything", err)}
	case err != nil:
		return &executor.ApplyResponse{Err: err, Retryable: retryable(err)}
	}
	// The handle is the operation's status URL or, when the stamp gave
	// none, the product deployment's URL: either is followed on resume.
	if req.Handle != nil {
		if err := req.Handle(op.URL); err != nil {
			return &executor.ApplyResponse{Err: fmt.Errorf(
				"hub %s: the secret rotation of %s started (operation %s) but could not be journalled: %w; "+
					"do not start another: wait for this one to end", c.hubName, c.productID, op.URL, err)}
		}
	}
	return c.watch(ctx, client, req, op)
}

// watch polls op until it ends.
func (c *raConfig) watch(ctx context.Context, client *hub.Client, req *executor.ApplyRequest, op hub.Operation) *executor.ApplyResponse {
	st, err := client.PollOperation(ctx, op, func(p hub.Progress) {
		if p.Err == nil {
			report(req, p.PercentComplete, p.Status)
		}
	})
	if err != nil && hub.IsNotFound(err) {
		return c.vanished(ctx, client, op, err)
	}
	var e *hub.Error
	switch {
	case err == nil:
	case ctx.Err() != nil:
		return &executor.ApplyResponse{Err: fmt.Errorf("%w; the rotation goes on at the stamp: apply again to re-attach to it", err)}
	case errors.Is(err, hub.ErrOperationFailed) && errors.As(err, &e):
		// A failed rotation is over: another attempt starts a new one.
		return &executor.ApplyResponse{Err: err, Retryable: retryableCode(e.Code)}
	case errors.Is(err, hub.ErrOperationCanceled):
		return &executor.ApplyResponse{Err: err}
	default:
		// Polling failed, not the rotation, which may still be running:
		// a new attempt must not start another; the step stays in flight.
		return &executor.ApplyResponse{Unknown: true, Err: fmt.Errorf("%w; the rotation may still be running at the stamp: apply again to re-attach to it", err)}
	}
	dep, err := client.GetProductDeployment(ctx, c.productID)
	if err != nil {
		return &executor.ApplyResponse{Err: err, Retryable: retryable(err)}
	}
	return c.succeeded(dep, op.URL, st.Status)
}

// vanished settles an operation whose status URL answers 404 from the
// deployment's status.
func (c *raConfig) vanished(ctx context.Context, client *hub.Client, op hub.Operation, cause error) *executor.ApplyResponse {
	p, err := c.read(ctx, client)
	switch {
	case err != nil:
		return &executor.ApplyResponse{Err: fmt.Errorf("%w; reading the deployment failed too: %w", cause, err)}
	case p.running():
		return &executor.ApplyResponse{Err: fmt.Errorf("%w; the deployment still shows a rotation running: wait for it to end, then plan again", cause)}
	case eqFold(p.status(), deploymentRotated) && len(p.uploaded()) == 0:
		return c.succeeded(p.dep, op.URL, "Succeeded")
	}
	return &executor.ApplyResponse{Err: fmt.Errorf("%w; the deployment shows status %s (%s)", cause, p.status(), p.lastError())}
}

// succeeded is the response of a finished rotation: status is the
// operation's (journalled in the Result), dep the deployment read after
// it (its status is the step's status output).
func (c *raConfig) succeeded(dep *hub.ProductDeployment, opURL, status string) *executor.ApplyResponse {
	op := cty.NullVal(cty.String)
	if opURL != "" {
		op = cty.StringVal(opURL)
	}
	return &executor.ApplyResponse{
		Outputs: cty.ObjectVal(map[string]cty.Value{
			"product_id": cty.StringVal(dep.ProductID()), "package_id": cty.StringVal(dep.PackageID()),
			"status": cty.StringVal(dep.Properties.Status), "operation": op,
		}),
		Result: map[string]string{ResultOperation: opURL, ResultStatus: status, ResultProductID: dep.ProductID()},
	}
}

// retryableCode reports whether a failed operation's error code says that
// trying again may help. Rotation failures are otherwise final: the
// operator looks at the stamp and acknowledges the failure.
func retryableCode(code string) bool {
	switch strings.ToLower(code) {
	case "retryableerror", "serviceunavailable", "internalservererror", "gatewaytimeout", "toomanyrequests":
		return true
	}
	return strings.HasPrefix(strings.ToLower(code), "transient")
}
