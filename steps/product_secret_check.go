package steps

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/runbook-dev/runbook/executor"
	"github.com/runbook-dev/runbook/hub"
	"github.com/zclconf/go-cty/cty"
)

// checkLocally runs the stamp's certificate rules on the PFX before
// anything is sent: the SAN the product needs (derived from the hub's
// endpoint, adminmanagement.<region>.<fqdn>), validity on the plan clock,
// self-signature, the chain to the hub's root CA, signature and key
// strength. What cannot be known locally is left to validate, with a
// warning for the SAN.
func (c *psConfig) checkLocally(req *executor.PlanRequest, roots []*x509.Certificate, p *pfxData, product string, now time.Time) {
	rules := certRules{Now: now, Roots: roots}
	endpoint := ""
	if req.Runbook != nil {
		if h, ok := req.Runbook.Hubs[c.hubName]; ok {
			endpoint = h.Endpoint
		}
	}
	host, why, ok := productHost(product, endpoint)
	if ok {
		rules.Host = host
	} else {
		c.diags = append(c.diags, &hcl.Diagnostic{
			Severity: hcl.DiagWarning,
			Summary:  "Certificate name not checked locally",
			Detail:   fmt.Sprintf("runbook cannot tell which DNS name the certificate needs: %s. The stamp's own validation will judge it.", why),
			Subject:  c.rng("pfx_file").Ptr(),
		})
	}
	c.diags = append(c.diags, checkPFX(p.data, c.password, p.path, rules, c.rng("pfx_file"))...)
}

// validate asks the stamp to check the certificate without importing it
// (the dry run Set-AzsProductSecret does without -Force) and turns a
// rejection into a diagnostic that quotes the stamp.
func (c *psConfig) validate(ctx context.Context, client *hub.Client, pkg string, p *pfxData) {
	err := client.ValidateSecret(ctx, pkg, c.secretName, p.data, hub.Secret(c.password))
	if err == nil {
		return
	}
	var e *hub.Error
	if errors.As(err, &e) && errors.Is(err, hub.ErrOperationFailed) {
		// The stamp ran the validation as a long-running operation and it
		// ended Failed.
		c.errorf("pfx_file", "The stamp rejected the certificate",
			"hub %s refused %s for secret %s of package %s: its validation failed: %s. Fix the certificate and plan again.",
			c.hubName, p.path, c.secretName, pkg, orUnknown(strings.TrimRight(strings.Trim(e.Code+": "+e.Message, ": "), ". ")))
		return
	}
	if errors.As(err, &e) && e.StatusCode >= 400 && e.StatusCode < 500 {
		what := strings.Trim(e.Code+": "+e.Message, ": ")
		c.errorf("pfx_file", "The stamp rejected the certificate",
			"hub %s refused %s for secret %s of package %s: %s (HTTP %d). Fix the certificate and plan again.",
			c.hubName, p.path, c.secretName, pkg, what, e.StatusCode)
		return
	}
	c.errorf("hub", "Cannot validate the certificate on the stamp", "%s.", err)
}

// secretToken is the Remote token of a secret: its status and expiry,
// which apply re-reads.
func secretToken(s *hub.ProductSecret) string {
	st := s.Properties.SecretState
	return "status=" + st.Status + ";expires=" + stampExpiry(st)
}

// stampExpiry returns the secret's expirationDate in RFC 3339 (UTC), the raw
// value if it cannot be read, or "" when absent.
func stampExpiry(st hub.SecretState) string {
	if t, ok := st.Expiration(); ok {
		return rfc3339(t)
	}
	return st.ExpirationDate
}

func optString(s string) cty.Value {
	if s == "" {
		return cty.NullVal(cty.String)
	}
	return cty.StringVal(s)
}

func orUnknown(s string) string {
	if s == "" {
		return "(unknown)"
	}
	return s
}

func eqFold(a, b string) bool { return strings.EqualFold(a, b) }
