package steps

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/runbook-dev/runbook/executor"
	"github.com/runbook-dev/runbook/hub"
	"github.com/zclconf/go-cty/cty"
)

// Apply imports the certificate and checks that the stamp shows it
// uploaded. It first checks that the PFX file and password are the ones the
// plan was made with, and, on a first attempt, that the secret's state has
// not changed since the plan.
func (t ProductSecret) Apply(ctx context.Context, req *executor.ApplyRequest) *executor.ApplyResponse {
	return t.apply(ctx, req, false)
}

// Resume re-reads the secret. If it has moved to Uploaded since the plan,
// the interrupted import reached the stamp and only the check remains;
// otherwise the import is sent again, which is safe (an import of the same
// certificate twice has the effect of one).
func (t ProductSecret) Resume(ctx context.Context, req *executor.ResumeRequest) *executor.ApplyResponse {
	return t.apply(ctx, &req.ApplyRequest, true)
}

func (t ProductSecret) apply(ctx context.Context, req *executor.ApplyRequest, resume bool) *executor.ApplyResponse {
	c := readPSConfig(newStepConfig(req.Step, req.Config))
	if c.diags.HasErrors() {
		return failed(c.diags, false)
	}
	p := c.readPFX(req.Runbook)
	if p == nil {
		return failed(c.diags, false)
	}
	if err := checkFingerprints(req, p, c.password); err != nil {
		return &executor.ApplyResponse{Err: err}
	}
	client, _, err := t.hubs.Hub(ctx, c.hubName)
	if err != nil {
		return &executor.ApplyResponse{Err: err, Retryable: retryable(err)}
	}
	pkg := ""
	if req.Planned != nil {
		pkg = req.Planned.Private[ResultPackageID]
	}
	if pkg == "" {
		if pkg, _ = c.resolvePackage(ctx, client); pkg == "" {
			return failed(c.diags, false)
		}
	}
	ev := p.pfx.Evidence(nowOf(req.Clock))
	sec, err := client.GetProductSecret(ctx, pkg, c.secretName)
	if err != nil {
		return &executor.ApplyResponse{Err: err, Retryable: retryable(err)}
	}
	landed := false
	if pl := req.Planned; pl != nil && pl.Remote != "" {
		now := secretToken(sec)
		switch {
		case resume:
			landed = !eqFold(pl.Private["secret_status"], secretStatusUploaded) &&
				eqFold(sec.Properties.SecretState.Status, secretStatusUploaded)
		case req.Attempt <= 1 && now != pl.Remote:
			return &executor.ApplyResponse{Err: fmt.Errorf(
				"hub %s: secret %s/%s changed on the stamp since the plan (planned %s, now %s); run plan again",
				c.hubName, pkg, c.secretName, pl.Remote, now)}
		}
	}
	report(req, 0, "importing the certificate")
	if !landed {
		op, err := client.ImportSecret(ctx, pkg, c.secretName, p.data, hub.Secret(c.password))
		if err == nil && !op.Done() {
			_, err = client.PollOperation(ctx, op, nil)
		}
		if err != nil {
			return &executor.ApplyResponse{Err: err, Retryable: retryable(err)}
		}
	}
	if sec, err = client.GetProductSecret(ctx, pkg, c.secretName); err != nil {
		if !landed {
			// The certificate is on the stamp, but no result will be
			// journalled: say so, since the next plan proposes the same
			// import again.
			err = fmt.Errorf("%w; the stamp had accepted the import: applying again imports the same certificate again, which is harmless", err)
		}
		return &executor.ApplyResponse{Err: err, Retryable: retryable(err)}
	}
	st := sec.Properties.SecretState
	exp, hasExp := st.Expiration()
	deployed := hasExp && sameSecond(exp, ev.NotAfter)
	if !eqFold(st.Status, secretStatusUploaded) && !deployed {
		return &executor.ApplyResponse{Retryable: true, Err: fmt.Errorf(
			"hub %s: secret %s/%s: the stamp accepted the import but the secret shows status %s, expiring %s, not the uploaded certificate",
			c.hubName, pkg, c.secretName, st.Status, orUnknown(stampExpiry(st)))}
	}
	report(req, 100, "certificate uploaded")
	return &executor.ApplyResponse{
		Outputs: cty.ObjectVal(map[string]cty.Value{
			"package_id": cty.StringVal(pkg), "secret_name": cty.StringVal(sec.SecretName()),
			"certificate": ev.Value(), "status": cty.StringVal(st.Status),
			"current": currentValue(st, nowOf(req.Clock)),
		}),
		Result: map[string]string{
			ResultPFXSHA256:  p.sha256,
			ResultCertSHA256: ev.SHA256,
			ResultNotAfter:   rfc3339(ev.NotAfter),
			ResultPackageID:  pkg,
			ResultSecretName: sec.SecretName(),
		},
	}
}

// checkFingerprints refuses to apply a PFX file or password other than the
// ones the plan was made with.
func checkFingerprints(req *executor.ApplyRequest, p *pfxData, password string) error {
	if req.Planned == nil {
		return nil
	}
	fp := req.Planned.Fingerprints
	if want, ok := fp["pfx_file"]; ok && want != p.sha256 {
		return fmt.Errorf("%s changed since the plan was made; run plan again to review the new certificate", p.path)
	}
	if want, ok := fp["pfx_password"]; ok && req.Fingerprint != nil && req.Fingerprint([]byte(password)) != want {
		return errors.New("pfx_password is not the value the plan was made with; run plan again")
	}
	return nil
}

// sameSecond reports whether a and b are the same instant to the second:
// the stamp may round a certificate's expiry.
func sameSecond(a, b time.Time) bool { return a.Truncate(time.Second).Equal(b.Truncate(time.Second)) }

// report sends a progress report if the executor asked for them.
func report(req *executor.ApplyRequest, pct float64, msg string) {
	if req.Progress != nil {
		req.Progress(executor.Progress{Percent: pct, Message: msg})
	}
}

// failed turns configuration diagnostics into an apply failure.
func failed(diags hcl.Diagnostics, retry bool) *executor.ApplyResponse {
	return &executor.ApplyResponse{Err: diags, Retryable: retry}
}
