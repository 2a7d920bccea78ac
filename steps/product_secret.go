package steps

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/runbook-dev/runbook/internal/boundedread"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/runbook-dev/runbook/clock"
	"github.com/runbook-dev/runbook/executor"
	"github.com/runbook-dev/runbook/executor/plan"
	"github.com/runbook-dev/runbook/hub"
	"github.com/runbook-dev/runbook/lang"
	"github.com/runbook-dev/runbook/state"
	"github.com/zclconf/go-cty/cty"
)

// ProductSecret is the product_secret step type: it imports a certificate
// (a PFX file) for a secret of a value-add resource provider, as
// Set-AzsProductSecret -Force does, declaratively.
//
//	step "product_secret" "eventhub_cert" {
//	  hub          = hub.east
//	  package_id   = "microsoft.eventhub.1.2003.0.0"  # or product_id = "microsoft.eventhub"
//	  secret_name  = "aseh-ssl-gateway-pfx"
//	  pfx_file     = "certs/eventhub.pfx"             # relative to the runbook
//	  pfx_password = var.pfx_password
//	}
//
// Plan opens the PFX locally, shows its evidence (subject, names, validity,
// fingerprint, key, chain), checks what the stamp will check and then asks
// the stamp itself (…/validate). It proposes no change when the journal
// shows that this very file was imported successfully and the stamp still
// holds it: deployed with the certificate's expiry, or uploaded and waiting
// for a rotation. Import only uploads; a rotate_action step deploys.
type ProductSecret struct {
	hubs HubSource
}

var _ executor.StepType = ProductSecret{}

// NewProductSecret returns the product_secret step type.
func NewProductSecret(hubs HubSource) executor.StepType { return ProductSecret{hubs: hubs} }

// The keys of the Result map a product_secret apply journals; later plans
// read them back through History.LastSuccess.
const (
	ResultPFXSHA256  = "pfx_sha256"  // SHA-256 of the PFX file, hex
	ResultCertSHA256 = "cert_sha256" // the certificate's SHA-256 thumbprint
	ResultNotAfter   = "not_after"   // the certificate's expiry, RFC 3339
	ResultPackageID  = "package_id"
	ResultSecretName = "secret_name"
)

// ResultKeys are the keys of the Result the journal keeps: hashes, ids and
// a date, never the PFX or its password.
func (ProductSecret) ResultKeys() []string {
	return []string{ResultPFXSHA256, ResultCertSHA256, ResultNotAfter, ResultPackageID, ResultSecretName}
}

// secretStatusUploaded is secretState.status of a certificate imported but
// not yet rotated in.
const secretStatusUploaded = "Uploaded"

var productSecretSpec = &hcldec.ObjectSpec{
	"hub":          &hcldec.AttrSpec{Name: "hub", Type: cty.DynamicPseudoType, Required: true},
	"package_id":   &hcldec.AttrSpec{Name: "package_id", Type: cty.String},
	"product_id":   &hcldec.AttrSpec{Name: "product_id", Type: cty.String},
	"secret_name":  &hcldec.AttrSpec{Name: "secret_name", Type: cty.String, Required: true},
	"pfx_file":     &hcldec.AttrSpec{Name: "pfx_file", Type: cty.String, Required: true},
	"pfx_password": &hcldec.AttrSpec{Name: "pfx_password", Type: cty.String, Required: true},
}

// productSecretOutputs is the type of step.NAME for a product_secret.
var productSecretOutputs = cty.Object(map[string]cty.Type{
	"package_id":  cty.String,
	"secret_name": cty.String,
	"certificate": EvidenceType,
	"status":      cty.String,
	"current":     CurrentType,
})

// Name returns "product_secret".
func (ProductSecret) Name() string { return "product_secret" }

// Schema returns the body schema.
func (ProductSecret) Schema() hcldec.Spec { return productSecretSpec }

// Outputs returns {package_id, secret_name, certificate, status}.
func (ProductSecret) Outputs() cty.Type { return productSecretOutputs }

// Info: an import takes about a minute and may be repeated safely.
func (ProductSecret) Info(config cty.Value) executor.Info {
	return executor.Info{
		ExpectedDuration: time.Minute,
		Timeout:          10 * time.Minute,
		RepeatSafe:       true,
		Targets:          hubTargets(config),
	}
}

// hubTargets returns ["hub.NAME"] for a config whose hub attribute is
// known.
func hubTargets(config cty.Value) []string {
	s := &stepConfig{val: config}
	if name := s.hub(); name != "" {
		return []string{"hub." + name}
	}
	return nil
}

// psConfig is a product_secret body, read.
type psConfig struct {
	*stepConfig
	hubName, packageID, productID, secretName, pfxFile, password string
}

func readPSConfig(s *stepConfig) *psConfig {
	c := &psConfig{stepConfig: s}
	c.hubName = s.hub()
	c.packageID, c.productID = s.str("package_id"), s.str("product_id")
	c.secretName, c.pfxFile, c.password = s.str("secret_name"), s.str("pfx_file"), s.str("pfx_password")
	switch {
	case c.packageID == "" && c.productID == "":
		s.errorf("secret_name", "Missing package_id or product_id",
			"Say which package the secret belongs to: package_id = \"microsoft.eventhub.1.2003.0.0\", or product_id = \"microsoft.eventhub\" to use the version deployed on the stamp.")
	case c.packageID != "" && c.productID != "":
		s.errorf("product_id", "Conflicting package_id and product_id",
			"Give package_id or product_id, not both: product_id finds the deployed package at plan time.")
	}
	return c
}

// pfxData is a PFX file read and opened.
type pfxData struct {
	path   string
	data   []byte
	sha256 string
	pfx    *PFX
}

// readPFX reads and opens the configured PFX, with diagnostics on
// pfx_file or pfx_password.
func (c *psConfig) readPFX(rb *lang.Runbook) *pfxData {
	p := &pfxData{path: runbookPath(rb, c.pfxFile)}
	var err error
	if p.data, err = boundedread.File(p.path, boundedread.Cert); err != nil {
		c.errorf("pfx_file", "Cannot read the PFX file", "Reading %s failed: %s.", p.path, pathError(err))
		return nil
	}
	sum := sha256.Sum256(p.data)
	p.sha256 = hex.EncodeToString(sum[:])
	if p.pfx, err = OpenPFX(p.data, c.password); err != nil {
		if errors.Is(err, ErrPFXPassword) {
			c.errorf("pfx_password", "Wrong PFX password",
				"The password does not open %s. Check where pfx_password comes from: it must be the password the PFX was exported with.", p.path)
		} else {
			c.errorf("pfx_file", "Not a PFX file",
				"%s cannot be opened: %s. Give a PKCS#12 file (.pfx) holding the certificate, its chain and its private key.", p.path, err)
		}
		return nil
	}
	return p
}

// pathError is an os error without the path, which the caller names.
func pathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Plan reads the secret's state, judges the PFX and proposes an import.
func (t ProductSecret) Plan(ctx context.Context, req *executor.PlanRequest) *executor.PlanResponse {
	c := readPSConfig(newStepConfig(req.Step, req.Config))
	resp := &executor.PlanResponse{}
	if c.diags.HasErrors() {
		resp.Diagnostics = c.diags
		return resp
	}
	now := nowOf(req.Clock)
	p := c.readPFX(req.Runbook)
	client, roots := c.connectHub(ctx, t.hubs, c.hubName)
	if p == nil || client == nil {
		resp.Diagnostics = c.diags
		return resp
	}
	ev := p.pfx.Evidence(now)
	pkg, product := c.resolvePackage(ctx, client)
	var sec *hub.ProductSecret
	if pkg != "" {
		sec = c.readSecret(ctx, client, pkg)
	}
	if sec == nil {
		resp.Diagnostics = c.diags
		return resp
	}
	c.checkLocally(req, roots, p, product, now)
	if !c.diags.HasErrors() {
		c.validate(ctx, client, pkg, p)
	}
	resp.Diagnostics = c.diags
	if c.diags.HasErrors() {
		return resp
	}
	status, expires := sec.Properties.SecretState.Status, stampExpiry(sec.Properties.SecretState)
	resp.Private = map[string]string{ResultPackageID: pkg, "secret_status": status}
	resp.Fingerprints = map[string]string{"pfx_file": p.sha256}
	if req.Fingerprint != nil {
		resp.Fingerprints["pfx_password"] = req.Fingerprint([]byte(c.password))
	}
	resp.Remote = secretToken(sec)
	resp.Files = []string{p.path}
	resp.ExpectedDuration = stepExpected(req.Step, time.Minute)

	before := map[string]cty.Value{
		"package_id":   cty.StringVal(pkg),
		"secret_name":  cty.StringVal(sec.SecretName()),
		"status":       cty.StringVal(status),
		"expires":      optString(expires),
		"certificate":  cty.NullVal(EvidenceType),
		"pfx_password": cty.NullVal(cty.String),
	}
	outputs := map[string]cty.Value{
		"package_id": cty.StringVal(pkg), "secret_name": cty.StringVal(sec.SecretName()),
		"certificate": ev.Value(), "status": cty.StringVal(status),
		"current": currentValue(sec.Properties.SecretState, now),
	}
	if req.History != nil {
		before["certificate"] = journalledCertificate(req.History.LastSuccess, sec.Properties.SecretState)
	}
	reason, same := unchanged(req.History, p, ev, pkg, sec)
	resp.Reason = reason
	if same {
		before["certificate"] = ev.Value()
		resp.Action = plan.NoOp
		resp.Before, resp.After = cty.ObjectVal(before), cty.ObjectVal(before)
		resp.Outputs = cty.ObjectVal(outputs)
		return resp
	}
	after := map[string]cty.Value{}
	for k, v := range before {
		after[k] = v
	}
	after["status"] = cty.StringVal(secretStatusUploaded)
	after["expires"] = cty.StringVal(rfc3339(ev.NotAfter))
	after["certificate"] = ev.Value()
	after["pfx_password"] = req.Config.GetAttr("pfx_password")
	outputs["status"] = cty.StringVal(secretStatusUploaded)
	resp.Action, resp.Summary = plan.Update, "import a new certificate"
	resp.Before, resp.After = cty.ObjectVal(before), cty.ObjectVal(after)
	resp.Outputs = cty.ObjectVal(outputs)
	return resp
}

// unchanged applies the "no change" rule: the journal's last successful
// import of this step was this very PFX file, into the same package, and
// the stamp still holds it — deployed with the certificate's expiry, or
// uploaded and waiting for a rotation. reason says why either way.
//
// The API shows no thumbprint of a secret, so the journal is the only proof
// of which certificate the stamp holds. An upload by someone else after
// ours, still waiting for its rotation, is indistinguishable from ours.
func unchanged(h *state.History, p *pfxData, ev *Evidence, pkg string, sec *hub.ProductSecret) (string, bool) {
	st := sec.Properties.SecretState
	var last map[string]string
	if h != nil {
		last = h.LastSuccess
	}
	switch {
	case last == nil:
		return "no import by this step is journalled yet", false
	case last[ResultPFXSHA256] != p.sha256:
		return "the PFX file differs from the one this step imported last", false
	case last[ResultPackageID] != "" && !eqFold(last[ResultPackageID], pkg):
		return fmt.Sprintf("the last import went to package %s, not %s", last[ResultPackageID], pkg), false
	case eqFold(st.Status, secretStatusUploaded):
		return "the stamp holds this certificate, uploaded and waiting for a secret rotation", true
	}
	if exp, ok := st.Expiration(); ok && sameSecond(exp, ev.NotAfter) {
		return "the stamp already uses this certificate", true
	}
	return fmt.Sprintf("the stamp's secret is %s and expires %s, not when this certificate does (%s): it was replaced since this step imported it",
		st.Status, orUnknown(stampExpiry(st)), rfc3339(ev.NotAfter)), false
}

// resolvePackage returns the package id and the product id, reading the
// deployed version when the step gives product_id.
func (c *psConfig) resolvePackage(ctx context.Context, client *hub.Client) (pkg, product string) {
	if c.packageID != "" {
		return c.packageID, productOfPackage(c.packageID)
	}
	dep, err := client.GetProductDeployment(ctx, c.productID)
	switch {
	case hub.IsNotFound(err):
		c.errorf("product_id", "Product not deployed",
			"hub %s has no product deployment %q. Check the product id (such as microsoft.eventhub or microsoft.sqlrp) in the admin portal's Marketplace management.", c.hubName, c.productID)
		return "", ""
	case err != nil:
		c.errorf("hub", "Cannot read the product deployment", "%s.", err)
		return "", ""
	case dep.PackageID() == "":
		c.errorf("product_id", "No deployed version",
			"The deployment of %s on hub %s names no deployed version (status %s), so its package is unknown. Give package_id instead.", c.productID, c.hubName, dep.Properties.Status)
		return "", ""
	}
	return dep.PackageID(), dep.ProductID()
}

// readSecret reads the secret, with diagnostics for an unknown package or
// secret and for a secret that is not a certificate.
func (c *psConfig) readSecret(ctx context.Context, client *hub.Client, pkg string) *hub.ProductSecret {
	pkgAttr := "package_id"
	if c.packageID == "" {
		pkgAttr = "product_id"
	}
	sec, err := client.GetProductSecret(ctx, pkg, c.secretName)
	if hub.IsNotFound(err) {
		all, lerr := client.ListProductSecrets(ctx, pkg)
		switch {
		case hub.IsNotFound(lerr):
			c.errorf(pkgAttr, "Package not found",
				"hub %s has no product package %q. The package id is the product id and its deployed version, such as microsoft.eventhub.1.2003.0.0; product_id finds it for you.", c.hubName, pkg)
		case lerr != nil:
			c.errorf("hub", "Cannot list the package's secrets", "%s.", lerr)
		default:
			c.errorf("secret_name", "Secret not found",
				"Package %s on hub %s has no secret %q; its certificate secrets are: %s.", pkg, c.hubName, c.secretName, certificateNames(all))
		}
		return nil
	}
	if err != nil {
		c.errorf("hub", "Cannot read the secret", "%s.", err)
		return nil
	}
	if !eqFold(sec.Properties.SecretKind, "Certificate") {
		c.errorf("secret_name", "Not a certificate secret",
			"Secret %q of package %s is of kind %s; product_secret imports certificates only. The stamp regenerates the other kinds itself when a rotate_action runs.", c.secretName, pkg, sec.Properties.SecretKind)
		return nil
	}
	return sec
}

func certificateNames(all []hub.ProductSecret) string {
	var names []string
	for _, s := range all {
		if eqFold(s.Properties.SecretKind, "Certificate") {
			names = append(names, s.SecretName())
		}
	}
	if len(names) == 0 {
		return "(none)"
	}
	return fmt.Sprint(names)
}

// nowOf returns the clock's now, in UTC. The executor always sets the
// request's clock (a nil one is a programming error and panics here).
func nowOf(c clock.Clock) time.Time { return c.Now().UTC() }

// stepExpected returns the step's expected_duration, or def.
func stepExpected(s *lang.Step, def time.Duration) time.Duration {
	if s != nil && s.ExpectedDuration > 0 {
		return s.ExpectedDuration
	}
	return def
}
