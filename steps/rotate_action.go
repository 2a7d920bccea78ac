package steps

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/runbook-dev/runbook/executor"
	"github.com/runbook-dev/runbook/executor/plan"
	"github.com/runbook-dev/runbook/hub"
	"github.com/zclconf/go-cty/cty"
)

// RotateAction is the rotate_action step type: it rotates the secrets of a
// value-add resource provider, as Invoke-AzsProductRotateSecretsAction does,
// declaratively.
//
//	step "rotate_action" "eventhub" {
//	  hub                 = hub.east
//	  product_id          = "microsoft.eventhub"
//	  depends_on          = [step.eventhub_cert]
//	  force               = false  # rotate even with nothing uploaded
//	  acknowledge_failure = false  # accept that the last rotation failed
//	}
//
// It runs when a secret of the product is uploaded and not yet deployed,
// when a step it depends on will upload one, or with force; otherwise it
// proposes no change. A rotation already running on the stamp is a plan
// error, and so is a failed last rotation unless acknowledge_failure is set.
//
// A rotation takes hours and must not be started twice, so the type is not
// RepeatSafe: apply journals the operation URL through ApplyRequest.Handle
// before it polls, and Resume polls that URL instead of starting again.
type RotateAction struct {
	hubs HubSource
}

var _ executor.StepType = RotateAction{}

// NewRotateAction returns the rotate_action step type.
func NewRotateAction(hubs HubSource) executor.StepType { return RotateAction{hubs: hubs} }

// The keys of the Result map of a rotate_action apply.
const (
	ResultOperation = "operation" // the operation's status URL
	ResultStatus    = "status"    // the operation's final status
	ResultProductID = "product_id"
)

// ResultKeys are the keys of the Result the journal keeps: the operation's
// URL, its status and the product, none of them secret.
func (RotateAction) ResultKeys() []string {
	return []string{ResultOperation, ResultStatus, ResultProductID}
}

// Deployment statuses (productDeployments properties.status) that matter.
const (
	deploymentRotating      = "SecretRotationInProgress"
	deploymentRotated       = "SecretRotationSucceeded"
	deploymentRotationError = "SecretRotationFailed"
)

var rotateActionSpec = &hcldec.ObjectSpec{
	"hub":                 &hcldec.AttrSpec{Name: "hub", Type: cty.DynamicPseudoType, Required: true},
	"product_id":          &hcldec.AttrSpec{Name: "product_id", Type: cty.String, Required: true},
	"force":               &hcldec.AttrSpec{Name: "force", Type: cty.Bool},
	"acknowledge_failure": &hcldec.AttrSpec{Name: "acknowledge_failure", Type: cty.Bool},
}

// rotateActionOutputs is the type of step.NAME for a rotate_action: status
// is the deployment's status (SecretRotationSucceeded after a rotation) and
// operation the rotation's status URL; both are known only after apply when
// the step runs, and operation is null when it does not.
var rotateActionOutputs = cty.Object(map[string]cty.Type{
	"product_id": cty.String,
	"package_id": cty.String,
	"status":     cty.String,
	"operation":  cty.String,
})

// Name returns "rotate_action".
func (RotateAction) Name() string { return "rotate_action" }

// Schema returns the body schema.
func (RotateAction) Schema() hcldec.Spec { return rotateActionSpec }

// Outputs returns {product_id, package_id, status, operation}.
func (RotateAction) Outputs() cty.Type { return rotateActionOutputs }

// Info gives the documented durations: about 4h for Event Hubs, 15m for
// the SQL and MySQL adapters, 1h for other products; the timeout is twice
// that, at least an hour. A rotation is not repeat-safe.
func (RotateAction) Info(config cty.Value) executor.Info {
	s := &stepConfig{val: config}
	expected := rotationDuration(s.str("product_id"))
	return executor.Info{
		ExpectedDuration: expected,
		Timeout:          max(2*expected, time.Hour),
		RepeatSafe:       false,
		Targets:          hubTargets(config),
	}
}

// rotationDuration is the documented duration of a product's rotation.
func rotationDuration(productID string) time.Duration {
	switch strings.ToLower(productID) {
	case "microsoft.eventhub":
		return 4 * time.Hour
	case "microsoft.sqlrp", "microsoft.mysqlrp":
		return 15 * time.Minute
	}
	return time.Hour
}

// raConfig is a rotate_action body, read.
type raConfig struct {
	*stepConfig
	hubName, productID string
	force, ack         bool
}

func readRAConfig(s *stepConfig) *raConfig {
	return &raConfig{stepConfig: s, hubName: s.hub(), productID: s.str("product_id"),
		force: s.boolean("force"), ack: s.boolean("acknowledge_failure")}
}

// productState is a product's deployment and its package's secrets.
type productState struct {
	dep     *hub.ProductDeployment
	secrets []hub.ProductSecret
}

func (p *productState) status() string { return p.dep.Properties.Status }

// running reports whether a rotation is in progress on the stamp.
func (p *productState) running() bool {
	if eqFold(p.status(), deploymentRotating) {
		return true
	}
	for _, s := range p.secrets {
		if eqFold(s.Properties.SecretState.RotationStatus, "InProgress") {
			return true
		}
	}
	return false
}

// uploaded returns the secrets uploaded and not yet deployed, sorted.
func (p *productState) uploaded() []string {
	var names []string
	for _, s := range p.secrets {
		if eqFold(s.Properties.SecretState.Status, secretStatusUploaded) {
			names = append(names, s.SecretName())
		}
	}
	sort.Strings(names)
	return names
}

// lastError describes the deployment's error, if it has one, without a
// final period: it is quoted inside sentences of our own.
func (p *productState) lastError() string {
	if r := p.dep.Properties.Error.Reason(); r != "" {
		return r
	}
	return "the stamp gives no reason"
}

// read reads the product's deployment and its package's secrets. A
// missing product is an error diagnostic on product_id.
func (c *raConfig) read(ctx context.Context, client *hub.Client) (*productState, error) {
	dep, err := client.GetProductDeployment(ctx, c.productID)
	if hub.IsNotFound(err) {
		deployed := "(none could be listed)"
		if all, lerr := client.ListProductDeployments(ctx); lerr == nil {
			var ids []string
			for _, d := range all {
				ids = append(ids, d.ProductID())
			}
			sort.Strings(ids)
			deployed = strings.Join(ids, ", ")
		}
		c.errorf("product_id", "Product not deployed",
			"hub %s has no product deployment %q; the products deployed there are: %s.", c.hubName, c.productID, deployed)
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	p := &productState{dep: dep}
	if pkg := dep.PackageID(); pkg != "" {
		if p.secrets, err = client.ListProductSecrets(ctx, pkg); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// Plan reads the deployment and decides whether a rotation is due.
func (t RotateAction) Plan(ctx context.Context, req *executor.PlanRequest) *executor.PlanResponse {
	c := readRAConfig(newStepConfig(req.Step, req.Config))
	resp := &executor.PlanResponse{}
	if c.diags.HasErrors() {
		resp.Diagnostics = c.diags
		return resp
	}
	client, _ := c.connectHub(ctx, t.hubs, c.hubName)
	if client == nil {
		resp.Diagnostics = c.diags
		return resp
	}
	p, err := c.read(ctx, client)
	if err != nil && !c.diags.HasErrors() {
		c.errorf("hub", "Cannot read the product deployment", "%s.", err)
	}
	if err != nil {
		resp.Diagnostics = c.diags
		return resp
	}
	product := p.dep.ProductID()
	expected := stepExpected(req.Step, rotationDuration(product))
	resuming := p.running() && req.History != nil && req.History.InFlight
	switch {
	case resuming:
		// Our own unfinished run started this rotation: apply re-attaches
		// to it.
	case p.running():
		c.diags = append(c.diags, &hcl.Diagnostic{
			Severity: hcl.DiagError, Summary: "Secret rotation already running",
			Detail: fmt.Sprintf("A secret rotation of %s is in progress on hub %s (deployment status %s); a rotation takes about %s. Wait for it to end, then plan again. If an earlier apply of this runbook started it, run that apply again instead: it re-attaches to the rotation.",
				product, c.hubName, p.status(), humanDuration(rotationDuration(product))),
			Subject: c.decl.Ptr(),
		})
	case eqFold(p.status(), deploymentRotationError) && !c.ack:
		c.errorf("product_id", "Last secret rotation failed",
			"The last secret rotation of %s on hub %s failed: %s. Find out why (the admin portal shows the rotation's action plan) and fix it, then set acknowledge_failure = true in this step to rotate again.",
			product, c.hubName, p.lastError())
	}
	resp.Diagnostics = c.diags
	if c.diags.HasErrors() {
		return resp
	}

	uploaded := p.uploaded()
	resp.Action, resp.Reason = plan.Run, ""
	switch {
	case resuming:
		resp.Reason = "an unfinished run of this runbook started this rotation; apply re-attaches to it"
	case len(uploaded) > 0:
		resp.Reason = fmt.Sprintf("%s uploaded and not yet deployed", plural(uploaded, "secret", "secrets"))
	case req.DependenciesChange:
		resp.Reason = "a step it depends on will upload a new secret"
	case c.force:
		resp.Reason = "force = true"
	default:
		resp.Action = plan.NoOp
		resp.Reason = fmt.Sprintf("no secret of %s is waiting to be deployed; set force = true to rotate anyway", product)
	}
	resp.Private = map[string]string{
		ResultPackageID: p.dep.PackageID(), "status": p.status(), "version": version(p.dep),
		"uploaded": strings.Join(uploaded, ","), "expect_upload": fmt.Sprint(req.DependenciesChange),
	}
	resp.Remote = deploymentToken(p.dep)
	before := p.value()
	if resp.Action == plan.NoOp {
		resp.Before, resp.After = before, before
		resp.Outputs = cty.ObjectVal(map[string]cty.Value{
			"product_id": cty.StringVal(product), "package_id": cty.StringVal(p.dep.PackageID()),
			"status": cty.StringVal(p.status()), "operation": cty.NullVal(cty.String),
		})
		return resp
	}
	resp.Summary = fmt.Sprintf("rotate the secrets of %s (about %s)", product, humanDuration(expected))
	resp.ExpectedDuration = expected
	resp.Before, resp.After = before, p.rotated()
	resp.Outputs = cty.ObjectVal(map[string]cty.Value{
		"product_id": cty.StringVal(product), "package_id": cty.StringVal(p.dep.PackageID()),
		"status": cty.UnknownVal(cty.String), "operation": cty.UnknownVal(cty.String),
	})
	return resp
}

// value is the product's state as a rotateActionState value.
func (p *productState) value() cty.Value { return p.stateValue(p.status(), false) }

// rotated is the state a successful rotation leaves: the deployment
// SecretRotationSucceeded and every certificate secret deployed.
func (p *productState) rotated() cty.Value { return p.stateValue(deploymentRotated, true) }

func (p *productState) stateValue(status string, deployed bool) cty.Value {
	secrets := map[string]cty.Value{}
	for _, s := range p.secrets {
		st := s.Properties.SecretState.Status
		if deployed && (eqFold(s.Properties.SecretKind, "Certificate") || eqFold(st, secretStatusUploaded)) {
			st = "Deployed"
		}
		secrets[s.SecretName()] = cty.StringVal(st)
	}
	sv := cty.MapValEmpty(cty.String)
	if len(secrets) > 0 {
		sv = cty.MapVal(secrets)
	}
	return cty.ObjectVal(map[string]cty.Value{
		"product_id": cty.StringVal(p.dep.ProductID()), "package_id": cty.StringVal(p.dep.PackageID()),
		"status": cty.StringVal(status), "secrets": sv,
	})
}

// deploymentToken is the Remote token of a deployment: its status and
// version.
func deploymentToken(d *hub.ProductDeployment) string {
	return "status=" + d.Properties.Status + ";version=" + version(d)
}

func version(d *hub.ProductDeployment) string {
	if d.Properties.Deployment == nil {
		return ""
	}
	return d.Properties.Deployment.Version
}

// humanDuration prints whole hours and minutes compactly: 4h, 15m, 1h30m.
func humanDuration(d time.Duration) string {
	h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
	switch {
	case h > 0 && m > 0:
		return fmt.Sprintf("%dh%dm", h, m)
	case h > 0:
		return fmt.Sprintf("%dh", h)
	case m > 0:
		return fmt.Sprintf("%dm", m)
	}
	return d.String()
}

func plural(names []string, one, many string) string {
	if len(names) == 1 {
		return one + " " + names[0]
	}
	return many + " " + strings.Join(names, ", ")
}
