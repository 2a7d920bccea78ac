package steps

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/runbook-dev/runbook/certcheck"
	"github.com/runbook-dev/runbook/executor"
	"github.com/runbook-dev/runbook/executor/plan"
	"github.com/runbook-dev/runbook/pep"
	"github.com/zclconf/go-cty/cty"
)

// stampFacts are what the PEP says about the stamp and its last rotation.
type stampFacts struct {
	region, fqdn, identity string
	last                   *actionStatus
}

// actionStatus is Get-ActionStatus's answer, as far as it can be read: its
// shape is not documented, so every field is optional.
type actionStatus struct {
	ID, Status, Kind string
	Start            time.Time
}

// readStamp asks the PEP for the stamp's names and the last
// Start-SecretRotation.
func readStamp(ctx context.Context, s pep.Session) (*stampFacts, error) {
	f := &stampFacts{}
	res, err := s.Invoke(ctx, pep.Call{Cmdlet: "Get-AzureStackStampInformation"})
	if err != nil {
		return nil, err
	}
	for _, o := range res.Objects() {
		if m, ok := o.(map[string]any); ok {
			f.region = strings.ToLower(firstString(m, "RegionName"))
			f.fqdn = strings.ToLower(firstString(m, "ExternalDomainFQDN"))
			f.identity = firstString(m, "IdentitySystem")
		}
	}
	// Public scripts build <prefix>.<RegionName>.<ExternalDomainFQDN>;
	// some stamps report the FQDN with the region already in front.
	f.fqdn = strings.TrimPrefix(f.fqdn, f.region+".")
	f.last, err = lastRotation(ctx, s)
	return f, err
}

// lastRotation runs Get-ActionStatus -FunctionName Start-SecretRotation.
func lastRotation(ctx context.Context, s pep.Session) (*actionStatus, error) {
	res, err := s.Invoke(ctx, pep.Call{Cmdlet: "Get-ActionStatus", Params: []pep.Param{{Name: "FunctionName", Value: "Start-SecretRotation"}}})
	if err != nil {
		return nil, err
	}
	for _, o := range res.Objects() {
		m, ok := o.(map[string]any)
		if !ok {
			continue
		}
		a := &actionStatus{
			ID:     firstString(m, "ActionPlanInstanceID", "ActionPlanInstanceId", "InstanceId", "Id"),
			Status: firstString(m, "Status", "CurrentStatus", "State"),
			Kind:   firstString(m, "ActionType", "Kind"),
		}
		for k, v := range m {
			if strings.EqualFold(k, "StartTime") {
				if t, ok := v.(time.Time); ok {
					a.Start = t
				}
			}
		}
		if a.Status != "" {
			return a, nil
		}
	}
	return nil, nil
}

// running, failed and completed read an action's status.
func (a *actionStatus) running() bool {
	return a != nil && (strings.EqualFold(a.Status, "Running") || strings.EqualFold(a.Status, "InProgress"))
}
func (a *actionStatus) failed() bool { return a != nil && strings.EqualFold(a.Status, "Failed") }

// ofKind reports whether the action is a rotation of kind; an action that
// does not say its kind is taken to be of any.
func (a *actionStatus) ofKind(kind string) bool {
	return a.Kind == "" || strings.EqualFold(a.Kind, kind)
}

// Plan reads the stamp and proposes a rotation, a -ReRun of a failed one,
// or nothing.
func (t SecretRotation) Plan(ctx context.Context, req *executor.PlanRequest) *executor.PlanResponse {
	c := readSRConfig(newStepConfig(req.Step, req.Config))
	resp := &executor.PlanResponse{}
	if c.diags.HasErrors() {
		resp.Diagnostics = c.diags
		return resp
	}
	secrets := c.secrets(req.Runbook)
	s, ok := c.openPEP(ctx, t.peps, c.pepName, secrets)
	if !ok {
		resp.Diagnostics = c.diags
		return resp
	}
	defer func() {
		if cerr := closePEP(ctx, req.Clock, s); cerr != nil {
			resp.Diagnostics = append(resp.Diagnostics, &hcl.Diagnostic{
				Severity: hcl.DiagWarning, Summary: "PEP session not closed",
				Detail:  fmt.Sprintf("Closing the session on pep %s failed: %s.", c.pepName, redact(cerr, secrets...)),
				Subject: c.rng("pep").Ptr(),
			})
		}
	}()
	facts, err := readStamp(ctx, s)
	if err != nil {
		c.errorf("pep", "Cannot read the stamp", "Asking pep %s for the stamp's names and its last rotation failed: %s.", c.pepName, redact(err, secrets...))
		resp.Diagnostics = c.diags
		return resp
	}
	var tp map[string]string
	if c.kind == KindExternal {
		tp = t.planExternal(ctx, req, c, facts, resp)
	} else {
		t.planInternal(req, c, facts, resp)
	}
	if !c.diags.HasErrors() && resp.Action != plan.NoOp && c.readiness && !c.attach {
		c.checkReadiness(ctx, s, secrets)
	}
	resp.Diagnostics = c.diags
	if c.diags.HasErrors() {
		return resp
	}
	rerun := resp.Private[PrivateRerun] == "true"
	resp.Outputs = c.outputs(rerun, tp)
	if resp.Action != plan.NoOp {
		resp.ExpectedDuration = stepExpected(req.Step, SecretRotation{}.Info(req.Config).ExpectedDuration)
	}
	if req.Fingerprint != nil && c.kind == KindExternal {
		resp.Fingerprints = map[string]string{
			FingerprintPFXPassword:   req.Fingerprint([]byte(c.pfxPassword)),
			FingerprintSharePassword: req.Fingerprint([]byte(c.sharePassword)),
		}
	}
	return resp
}

// checkReadiness runs the readiness group and turns every test that did
// not pass into an error naming it.
func (c *srConfig) checkReadiness(ctx context.Context, s pep.Session, secrets []string) {
	outcomes, err := runTestAzureStack(ctx, s, GroupSecretRotationReadiness, nil)
	if err != nil {
		c.errorf("pep", "Cannot run the readiness tests", "Test-AzureStack -Group %s on pep %s failed: %s.", GroupSecretRotationReadiness, c.pepName, redact(err, secrets...))
		return
	}
	for _, o := range blocking(outcomes) {
		c.errorf("readiness", "Readiness test "+o.Name+" did not pass",
			"Test-AzureStack -Group %s reports %s: %s. Microsoft says to treat readiness warnings as blockers: fix the stamp and plan again (or, knowingly, set readiness = false).",
			GroupSecretRotationReadiness, o.Result, orDefault(o.Message, "no detail given"))
	}
}

// planInternal proposes an internal rotation unless the journal shows one
// within max_age, or a -ReRun after a failed one.
func (t SecretRotation) planInternal(req *executor.PlanRequest, c *srConfig, facts *stampFacts, resp *executor.PlanResponse) {
	state := func(rerun bool) cty.Value {
		return cty.ObjectVal(map[string]cty.Value{"kind": cty.StringVal(KindInternal), "rerun": cty.BoolVal(rerun)})
	}
	if c.blockedByRunning(req, facts, resp) {
		resp.Before, resp.After = state(false), state(false)
		return
	}
	if facts.last.failed() && facts.last.ofKind(KindInternal) {
		resp.Action, resp.Summary = plan.Update, "re-run the failed internal secret rotation (Start-SecretRotation -Internal -ReRun)"
		resp.Reason = fmt.Sprintf("Get-ActionStatus reports action plan %s failed; Microsoft's procedure is -ReRun, not a fresh start", orDefault(facts.last.ID, "(no id)"))
		resp.Before, resp.After = state(false), state(true)
		resp.Private = map[string]string{PrivateRerun: "true"}
		return
	}
	now := nowOf(req.Clock)
	if h := req.History; h != nil && h.LastSuccess != nil && !h.LastSuccessAt.IsZero() {
		if age := now.Sub(h.LastSuccessAt); age < c.maxAge {
			resp.Action = plan.NoOp
			resp.Reason = fmt.Sprintf("the journal shows this step rotated the internal secrets %s ago, within max_age %s", days(age), days(c.maxAge))
			resp.Before, resp.After = state(false), state(false)
			return
		}
		resp.Reason = fmt.Sprintf("the last internal rotation this step journalled is older than max_age %s", days(c.maxAge))
	} else {
		resp.Reason = "no successful internal rotation of this step is journalled"
	}
	resp.Action, resp.Summary = plan.Update, "rotate the internal secrets (Start-SecretRotation -Internal)"
	resp.Before, resp.After = state(false), state(false)
	resp.Private = map[string]string{PrivateRerun: "false"}
}

// blockedByRunning plans a re-attach when the last run left this step in
// flight (Resume then reads Get-ActionStatus: the rotation may still run,
// or have ended while nobody watched), and otherwise refuses to plan
// while a rotation this step did not start runs on the stamp.
func (c *srConfig) blockedByRunning(req *executor.PlanRequest, facts *stampFacts, resp *executor.PlanResponse) bool {
	if h := req.History; h != nil && h.InFlight {
		id := h.Handle
		if id == "" && facts.last != nil {
			id = facts.last.ID
		}
		state := "running"
		if facts.last != nil && strings.EqualFold(facts.last.ID, id) {
			state = strings.ToLower(orDefault(facts.last.Status, "running"))
		}
		resp.Action = plan.Update
		resp.Summary = fmt.Sprintf("re-attach to the %s secret rotation this step started (action plan %s) with Get-ActionStatus", c.kind, orDefault(id, "not named"))
		resp.Reason = fmt.Sprintf("the last run left this step in flight; the stamp reports the action plan %s", state)
		if resp.Private == nil {
			resp.Private = map[string]string{}
		}
		if resp.Private[PrivateRerun] == "" {
			resp.Private[PrivateRerun] = "false"
		}
		c.attach = true
		return true
	}
	if !facts.last.running() {
		return false
	}
	c.errorf("pep", "A secret rotation is running",
		"Get-ActionStatus on pep %s reports action plan %s running since %s, which this step did not start. Wait until it ends, then plan again.",
		c.pepName, orDefault(facts.last.ID, "(no id)"), orDefault(rfc3339OrEmpty(facts.last.Start), "an unknown time"))
	return true
}

func rfc3339OrEmpty(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return rfc3339(t)
}

func days(d time.Duration) string {
	n := int(d.Hours() / 24)
	switch {
	case n == 1:
		return "1 day"
	case n >= 1:
		return fmt.Sprintf("%d days", n)
	}
	return d.Round(time.Minute).String()
}

// planExternal judges the certificate folder, reads what the endpoints
// serve and proposes the rotation. It returns the new thumbprints by
// folder.
func (t SecretRotation) planExternal(ctx context.Context, req *executor.PlanRequest, c *srConfig, facts *stampFacts, resp *executor.PlanResponse) map[string]string {
	if facts.identity != "" && c.identity != "" {
		stampID := certcheck.AAD
		if strings.Contains(strings.ToUpper(facts.identity), "ADFS") {
			stampID = certcheck.ADFS
		}
		if stampID != c.identity {
			c.errorf("identity", "Identity differs from the stamp's",
				"identity is %q, but the stamp reports IdentitySystem %q: the PEP will look for Certificates\\%s.", strings.ToLower(string(c.identity)), facts.identity, stampID)
			return nil
		}
	}
	if facts.region == "" || facts.fqdn == "" {
		c.errorf("pep", "Stamp names unknown", "Get-AzureStackStampInformation on pep %s did not report RegionName and ExternalDomainFQDN, which name the endpoints the certificates must cover.", c.pepName)
		return nil
	}
	current, trusted := c.roots(req.Runbook)
	if c.diags.HasErrors() {
		return nil
	}
	now := nowOf(req.Clock)
	dir := runbookPath(req.Runbook, c.dir)
	tree, err := certcheck.CheckDir(os.DirFS(dir), c.identity, facts.region, facts.fqdn, c.pfxPassword,
		certcheck.Policy{Now: now, MinValidity: c.minValidity, Roots: current, TrustedRoots: trusted,
			ExtKeyUsages: externalEKUs})
	if err != nil {
		c.errorf("certificate_dir", "Cannot read the certificate folder", "Reading %s failed: %s.", dir, pathError(err))
		return nil
	}
	c.treeDiagnostics(tree)
	if c.diags.HasErrors() {
		return nil
	}
	ev := t.evidence(ctx, tree, now)
	before, after := map[string]cty.Value{}, map[string]cty.Value{}
	tp := map[string]string{}
	allServed := true
	sum := sha256.New()
	var changes []string
	for _, e := range ev {
		before[e.folder] = e.servedValue()
		after[e.folder] = e.newValue()
		tp[e.folder] = e.pfx.SHA256
		fmt.Fprintf(sum, "%s\x00%x\x00", e.folder, sha256.Sum256(e.data))
		resp.Files = append(resp.Files, filepath.Join(dir, filepath.FromSlash(strings.ReplaceAll(e.file, `\`, "/"))))
		if e.served == nil || e.served.SHA256 != e.pfx.SHA256 {
			allServed = false
		}
		if e.caChange {
			changes = append(changes, e.folder)
		}
	}
	files := hex.EncodeToString(sum.Sum(nil))
	resp.Before, resp.After = cty.ObjectVal(before), cty.ObjectVal(after)
	resp.Private = map[string]string{PrivateFiles: files, PrivateRerun: "false"}
	if len(changes) > 0 {
		c.diags = append(c.diags, &hcl.Diagnostic{
			Severity: hcl.DiagWarning, Summary: "Certificate authority changes",
			Detail: fmt.Sprintf("The certificates of %s chain to a root declared in trusted_roots, not to the stamp's current root: the rotation changes the stamp's CA, which Azure Stack Hub allows since 1903 (never to a self-signed certificate). Make sure every client trusts the new root first.",
				strings.Join(changes, ", ")),
			Subject: c.rng("trusted_roots").Ptr(),
		})
	}
	switch {
	case c.blockedByRunning(req, facts, resp):
		return tp
	case facts.last.failed() && facts.last.ofKind(KindExternal):
		resp.Action, resp.Summary = plan.Update, "re-run the failed external secret rotation (Start-SecretRotation -ReRun)"
		resp.Reason = fmt.Sprintf("Get-ActionStatus reports action plan %s failed; Microsoft's procedure is -ReRun with the certificates still on the share, not a fresh start", orDefault(facts.last.ID, "(no id)"))
		resp.Private[PrivateRerun] = "true"
	case allServed:
		resp.Action = plan.NoOp
		resp.Reason = "every endpoint serves its certificate from the folder already"
	case req.History != nil && req.History.LastSuccess[ResultFiles] == files && !anyServedRead(ev):
		resp.Action = plan.NoOp
		resp.Reason = "the journal shows this step rotated these very files last, and the endpoints' certificates cannot be read from here"
	default:
		resp.Action, resp.Summary = plan.Update, fmt.Sprintf("rotate the external certificates of %d endpoints (Start-SecretRotation)", len(ev))
		resp.Reason = "the certificate folder holds certificates the stamp does not serve yet"
	}
	return tp
}

// externalEKUs are what external certificates need: Server and Client
// Authentication (Azure Stack Hub PKI certificate requirements).
var externalEKUs = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}

func anyServedRead(ev []*endpointEvidence) bool {
	for _, e := range ev {
		if e.served != nil {
			return true
		}
	}
	return false
}

// treeDiagnostics turns the tree's findings into diagnostics on
// certificate_dir, each naming the folder, the file and the rule.
func (c *srConfig) treeDiagnostics(tree *certcheck.Tree) {
	add := func(where string, f certcheck.Finding) {
		sev := hcl.DiagError
		if f.Severity == certcheck.Warn {
			sev = hcl.DiagWarning
		}
		attr := "certificate_dir"
		if f.Rule == certcheck.RulePassword {
			attr = "pfx_password"
		}
		c.diags = append(c.diags, &hcl.Diagnostic{
			Severity: sev,
			Summary:  fmt.Sprintf("%s fails the %q check", where, f.Rule),
			Detail:   fmt.Sprintf("%s: %s: %s", where, f.Rule, f.Message),
			Subject:  c.rng(attr).Ptr(),
		})
	}
	for _, f := range tree.Findings {
		if f.Rule == certcheck.RulePassword {
			continue // readSRConfig reported it
		}
		add("Certificates", f)
	}
	for _, fr := range tree.Folders {
		where := fr.File
		if where == "" {
			where = string(tree.Identity) + `\` + fr.Endpoint.Folder
		}
		for _, f := range fr.Findings {
			add(where, f)
		}
	}
}

// endpointEvidence is one endpoint's new certificate and the one it
// serves.
type endpointEvidence struct {
	folder, host, file string
	data               []byte
	pfx                *Evidence
	chain              []string
	caChange           bool
	served             *Evidence
	servedErr          string
}

func (t SecretRotation) evidence(ctx context.Context, tree *certcheck.Tree, now time.Time) []*endpointEvidence {
	var out []*endpointEvidence
	for _, fr := range tree.Folders {
		if fr.Result == nil {
			continue
		}
		p := &PFX{Leaf: fr.Result.Leaf, CACert: fr.Result.Others, HasKey: fr.Result.HasKey}
		e := &endpointEvidence{folder: fr.Endpoint.Folder, host: fr.Host, file: fr.File, data: fr.Data, pfx: p.Evidence(now), caChange: fr.Result.CAChange}
		for _, ch := range fr.Result.Chain {
			e.chain = append(e.chain, ch.Subject.String())
		}
		probe := strings.Replace(fr.Host, "*", "runbook-probe", 1)
		if cert, err := t.served.Served(ctx, probe); err != nil {
			e.servedErr = err.Error()
		} else {
			sp := &PFX{Leaf: cert}
			e.served = sp.Evidence(now)
		}
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].folder < out[j].folder })
	return out
}

func strList(list []string) cty.Value {
	if len(list) == 0 {
		return cty.ListValEmpty(cty.String)
	}
	vals := make([]cty.Value, len(list))
	for i, s := range list {
		vals[i] = cty.StringVal(s)
	}
	return cty.ListVal(vals)
}

// newValue is the endpoint after the rotation: the PFX's certificate.
func (e *endpointEvidence) newValue() cty.Value {
	return cty.ObjectVal(map[string]cty.Value{
		"host":       cty.StringVal(e.host),
		"file":       cty.StringVal(e.file),
		"subject":    cty.StringVal(e.pfx.Subject),
		"sans":       strList(e.pfx.SANs),
		"issuer":     cty.StringVal(e.pfx.Issuer),
		"not_before": cty.StringVal(rfc3339(e.pfx.NotBefore)),
		"not_after":  cty.StringVal(rfc3339(e.pfx.NotAfter)),
		"sha256":     cty.StringVal(e.pfx.SHA256),
		"chain":      strList(e.chain),
	})
}

// servedValue is the endpoint now: the certificate it serves, in the same
// shape (the file is "served"; the chain is not judged).
func (e *endpointEvidence) servedValue() cty.Value {
	if e.served == nil {
		unread := cty.StringVal("(not read: " + e.servedErr + ")")
		return cty.ObjectVal(map[string]cty.Value{
			"host": cty.StringVal(e.host), "file": cty.StringVal("(served)"), "subject": unread,
			"sans": cty.ListValEmpty(cty.String), "issuer": unread, "not_before": unread, "not_after": unread, "sha256": unread,
			"chain": cty.ListValEmpty(cty.String),
		})
	}
	return cty.ObjectVal(map[string]cty.Value{
		"host":       cty.StringVal(e.host),
		"file":       cty.StringVal("(served)"),
		"subject":    cty.StringVal(e.served.Subject),
		"sans":       strList(e.served.SANs),
		"issuer":     cty.StringVal(e.served.Issuer),
		"not_before": cty.StringVal(rfc3339(e.served.NotBefore)),
		"not_after":  cty.StringVal(rfc3339(e.served.NotAfter)),
		"sha256":     cty.StringVal(e.served.SHA256),
		"chain":      cty.ListValEmpty(cty.String),
	})
}
