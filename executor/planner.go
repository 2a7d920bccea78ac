package executor

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/runbook-dev/runbook/addrs"
	"github.com/runbook-dev/runbook/clock"
	"github.com/runbook-dev/runbook/executor/dag"
	"github.com/runbook-dev/runbook/executor/plan"
	"github.com/runbook-dev/runbook/lang"
	"github.com/runbook-dev/runbook/state"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// PlanOptions are the inputs of Plan.
type PlanOptions struct {
	Runbook  *lang.Runbook
	Registry *Registry
	Clock    clock.Clock
	// Key keys the HMAC fingerprints of sensitive values; it is kept beside
	// the runbook, never in the plan.
	Key []byte
	// Targets limits the plan to these step addresses and what they depend
	// on; the other steps are skipped.
	Targets []string
	// Parallelism bounds how many steps are planned at once (10 when zero).
	Parallelism int
	// History returns what journals recorded about a step, or nil.
	History func(addrs.Step) *state.History
	// Window names the change window to fit; "" picks the runbook's only
	// window, or the one opening first.
	Window string
	// ToolVersion is recorded in the plan.
	ToolVersion string
	// TTL is how long the plan stays valid (7 days when zero).
	TTL time.Duration
	// Dir is the runbook directory as the user gave it.
	Dir string
}

// DefaultParallelism is the default bound on concurrent steps.
const DefaultParallelism = 10

// DefaultPlanTTL is how long a saved plan stays valid by default.
const DefaultPlanTTL = 7 * 24 * time.Hour

// NewKey returns a fresh random key for a plan's fingerprints.
func NewKey() []byte {
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		panic(err)
	}
	return k
}

// Fingerprint returns the HMAC-SHA-256 of b keyed with key, hex encoded and
// prefixed with its algorithm.
func Fingerprint(key, b []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write(b)
	return state.FingerprintPrefix + hex.EncodeToString(m.Sum(nil))
}

// Planned is a plan with what apply needs beyond the plan's data: each
// step's decoded configuration and planned outputs. It is only ever in
// memory; a saved plan is re-planned and compared before it is applied.
type Planned struct {
	*plan.Plan
	// Graph is the step graph.
	Graph   *dag.Graph
	changes map[string]*plan.Change
	configs map[string]cty.Value
	outputs map[string]cty.Value
}

// Config returns the decoded configuration of a step, as planned.
func (p *Planned) Config(address string) cty.Value { return p.configs[address] }

// Change returns the planned change of a step, or nil.
func (p *Planned) Change(address string) *plan.Change { return p.changes[address] }

// Outputs returns the planned value of a step (unknown parts are known
// only after apply).
func (p *Planned) Outputs(address string) cty.Value { return p.outputs[address] }

// planned is the outcome of planning one step.
type planned struct {
	change  *plan.Change
	outputs cty.Value
	config  cty.Value
	diags   hcl.Diagnostics
	// checks are the step's failed preconditions: the step is planned all
	// the same, so that the plan shows what the check judged.
	checks []plan.Check
}

// Plan asks every step type to read the current state and propose a change,
// in dependency order, and evaluates policies and preconditions. It returns
// the plan even when there are errors, so that callers can show what was
// planned.
func Plan(ctx context.Context, opts PlanOptions) (*Planned, hcl.Diagnostics) {
	if opts.Clock == nil {
		panic("executor: PlanOptions.Clock is nil")
	}
	rb := opts.Runbook
	now := opts.Clock.Now()
	// Step bodies are decoded as each step is planned; here only the graph
	// needs checking.
	g := Graph(rb)
	diags := g.Validate()
	if diags.HasErrors() {
		return nil, diags
	}
	if opts.Parallelism <= 0 {
		opts.Parallelism = DefaultParallelism
	}
	if opts.TTL <= 0 {
		opts.TTL = DefaultPlanTTL
	}
	targeted, tdiags := targetSet(g, opts.Targets)
	diags = append(diags, tdiags...)
	if diags.HasErrors() {
		return nil, diags
	}

	p := &Planned{Plan: &plan.Plan{
		ID:          newPlanID(),
		ToolVersion: opts.ToolVersion,
		CreatedAt:   now.UTC(),
		ExpiresAt:   now.UTC().Add(opts.TTL),
		Targets:     append([]string(nil), opts.Targets...),
	}, Graph: g, changes: map[string]*plan.Change{}, configs: map[string]cty.Value{}, outputs: map[string]cty.Value{}}
	p.Runbook.Dir = opts.Dir
	if rb.Meta != nil {
		p.Runbook.Description, p.Runbook.Owner = rb.Meta.Description, rb.Meta.Owner
	}
	p.Runbook.Files = RunbookFiles(rb)
	p.Inputs = Inputs(rb, opts.Key, p.ID)
	p.Runbook.Endpoints = Endpoints(rb)

	fingerprint := func(b []byte) string { return Fingerprint(opts.Key, b) }
	base := rb.EvalContext(nil, cty.NilVal)
	results := make(map[string]*planned, g.Len())
	var mu sync.Mutex

	_, err := g.Walk(ctx, dag.WalkOptions{
		Parallelism:       opts.Parallelism,
		ContinueOnFailure: true,
		Visit: func(ctx context.Context, addr string) error {
			s := rb.Steps[addrs.MustParseStep(addr).Name]
			deps := g.Dependencies(addr)
			mu.Lock()
			depResults := make([]*planned, len(deps))
			for i, d := range deps {
				depResults[i] = results[d]
			}
			mu.Unlock()
			r := planStep(ctx, opts, s, base, deps, depResults, targeted, fingerprint)
			mu.Lock()
			results[addr] = r
			mu.Unlock()
			if r.diags.HasErrors() {
				return fmt.Errorf("%s: plan failed", addr)
			}
			return nil
		},
	})
	if err != nil {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Planning stopped", Detail: err.Error()})
	}

	order, _ := g.TopoOrder()
	stepVals := make(map[string]cty.Value, len(order))
	for _, addr := range order {
		r, ok := results[addr]
		if !ok {
			// A dependency failed to plan, so this step was never planned.
			continue
		}
		diags = append(diags, r.diags...)
		p.Checks = append(p.Checks, r.checks...)
		if r.change != nil {
			p.Changes = append(p.Changes, r.change)
			stepVals[addrs.MustParseStep(addr).Name] = r.outputs
			p.configs[addr], p.outputs[addr], p.changes[addr] = r.config, r.outputs, r.change
		}
	}
	if len(p.Changes) < g.Len() {
		// A step could not be planned: there is no whole plan to judge.
		return p, diags
	}

	// Policies see every step's planned outputs, even when a precondition
	// failed, so that the plan shows every check it fails.
	pctx := rb.EvalContext(stepVals, cty.NilVal)
	for _, name := range sortedNames(rb.Policies) {
		pol := rb.Policies[name]
		if pol.Condition.Condition == nil {
			continue
		}
		res, msg, cdiags := lang.EvalCondition(pctx, pol.Condition.Condition, pol.ErrorMessage)
		diags = append(diags, cdiags...)
		p.Checks = append(p.Checks, plan.Check{Address: "policy." + name, Result: res.String(), Message: msg, Range: pol.DeclRange.String(),
			Steps: referencedSteps(pol.Condition.Condition)})
		if res == lang.CheckFailed {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  fmt.Sprintf("Policy %q failed", name),
				Detail:   msg,
				Subject:  pol.Condition.Condition.Range().Ptr(),
			})
		}
		if res == lang.CheckUnknown {
			p.Warnings = append(p.Warnings, fmt.Sprintf("policy.%s depends on values known only after apply; it will be checked then.", name))
		}
	}
	sort.Slice(p.Checks, func(i, j int) bool { return p.Checks[i].Address < p.Checks[j].Address })

	durations := map[string]time.Duration{}
	for _, c := range p.Changes {
		if c.Action.Changes() {
			durations[c.Address] = c.ExpectedDuration
		}
	}
	cp, _ := g.CriticalPath(func(addr string) time.Duration { return durations[addr] })
	p.CriticalPath = cp.Length
	w, wdiags := fitWindow(rb, opts.Window, now, cp.Length)
	diags = append(diags, wdiags...)
	p.Window = w
	return p, diags
}

// RunbookFiles returns the runbook's files with their SHA-256, as a plan
// records them.
func RunbookFiles(rb *lang.Runbook) []plan.File {
	var files []plan.File
	for _, name := range rb.FileNames {
		sum := sha256.Sum256(rb.Files[name].Bytes)
		files = append(files, plan.File{Name: name, SHA256: hex.EncodeToString(sum[:])})
	}
	return files
}

// planStep plans one step; its dependencies have been planned already.
func planStep(ctx context.Context, opts PlanOptions, s *lang.Step, base *hcl.EvalContext, deps []string,
	depResults []*planned, targeted map[string]bool, fingerprint func([]byte) string) *planned {
	rb := opts.Runbook
	t, _ := opts.Registry.Get(s.Type)
	r := &planned{}
	// Steps may only refer to the steps they depend on, so their values are
	// all the context needs: this keeps planning linear in the step count.
	stepVals := map[string]cty.Value{}
	depsChange := false
	for i, d := range deps {
		dr := depResults[i]
		if dr == nil || dr.change == nil {
			r.diags = append(r.diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Dependency not planned",
				Detail:   fmt.Sprintf("%s depends on %s, which could not be planned.", s.Address(), d),
				Subject:  s.DeclRange.Ptr(),
			})
			return r
		}
		stepVals[addrs.MustParseStep(d).Name] = dr.outputs
		if dr.change.Action.Changes() {
			depsChange = true
		}
	}
	ectx := base.NewChild()
	ectx.Variables = map[string]cty.Value{"step": objectVal(stepVals)}

	config, diags := DecodeStep(s, t, ectx)
	r.diags = append(r.diags, diags...)
	if diags.HasErrors() {
		return r
	}
	r.config = config
	info := t.Info(config)
	change := &plan.Change{
		Address:   s.Address().String(),
		Type:      s.Type,
		Name:      s.Name,
		DependsOn: deps,
	}
	if targeted != nil && !targeted[s.Address().String()] {
		change.Action = plan.Skip
		change.Summary = "be skipped"
		change.Reason = "not targeted"
		change.Before, change.After = cty.NullVal(cty.DynamicPseudoType), cty.NullVal(cty.DynamicPseudoType)
		r.change, r.outputs = change, cty.UnknownVal(t.Outputs())
		return r
	}

	var evalDiags hcl.Diagnostics
	for i, c := range s.Preconditions {
		res, msg, cdiags := lang.EvalCondition(ectx, c.Condition, c.ErrorMessage)
		evalDiags = append(evalDiags, cdiags...)
		if res == lang.CheckFailed {
			r.checks = append(r.checks, plan.Check{
				Address: fmt.Sprintf("%s.precondition[%d]", s.Address(), i), Result: plan.CheckFailed,
				Message: msg, Range: c.DeclRange.String(), Steps: []string{s.Address().String()},
			})
			r.diags = append(r.diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  fmt.Sprintf("Precondition of %s failed", s.Address()),
				Detail:   msg,
				Subject:  c.Condition.Range().Ptr(),
			})
		}
	}
	r.diags = append(r.diags, evalDiags...)
	if evalDiags.HasErrors() {
		return r
	}
	// A failed precondition stops apply, not the plan: Plan only reads, so
	// the step is planned and the plan shows what the failed check judged.

	var history *state.History
	if opts.History != nil {
		history = opts.History(s.Address())
	}
	resp := t.Plan(ctx, &PlanRequest{
		Address:            s.Address(),
		Step:               s,
		Config:             config,
		Runbook:            rb,
		Clock:              opts.Clock,
		History:            history,
		Fingerprint:        fingerprint,
		DependenciesChange: depsChange,
	})
	for _, d := range resp.Diagnostics {
		if d.Subject == nil {
			d.Subject = s.DeclRange.Ptr()
		}
	}
	r.diags = append(r.diags, resp.Diagnostics...)
	if resp.Diagnostics.HasErrors() {
		r.checks = nil // the step is not planned: its checks judged nothing
		return r
	}
	change.Action = resp.Action
	change.Summary = resp.Summary
	change.Reason = resp.Reason
	change.Before, change.After = resp.Before, resp.After
	change.Private, change.Fingerprints, change.Remote = resp.Private, resp.Fingerprints, resp.Remote
	switch {
	case s.ExpectedDuration > 0:
		change.ExpectedDuration = s.ExpectedDuration
	case resp.ExpectedDuration > 0:
		change.ExpectedDuration = resp.ExpectedDuration
	default:
		change.ExpectedDuration = info.ExpectedDuration
	}
	if change.Before == cty.NilVal {
		change.Before = cty.NullVal(cty.DynamicPseudoType)
	}
	if change.After == cty.NilVal {
		change.After = cty.NullVal(cty.DynamicPseudoType)
	}
	out := resp.Outputs
	if out == cty.NilVal {
		out = cty.UnknownVal(t.Outputs())
	}
	// Postconditions are checked after apply, but their mistakes (a
	// misspelt attribute of self) are found now, against the planned
	// outputs, before the step acts.
	selfCtx := ectx.NewChild()
	selfCtx.Variables = map[string]cty.Value{"self": out}
	var postDiags hcl.Diagnostics
	for _, c := range s.Postconditions {
		postDiags = append(postDiags, conditionErrors(selfCtx, c)...)
	}
	r.diags = append(r.diags, postDiags...)
	if postDiags.HasErrors() {
		r.checks = nil
		return r
	}
	r.change, r.outputs = change, out
	return r
}

// referencedSteps returns the addresses of the steps an expression refers
// to, sorted and without repeats.
func referencedSteps(expr hcl.Expression) []string {
	seen := map[string]bool{}
	var out []string
	for _, tr := range expr.Variables() {
		if len(tr) < 2 || tr.RootName() != "step" {
			continue
		}
		if a, ok := tr[1].(hcl.TraverseAttr); ok && !seen[a.Name] {
			seen[a.Name] = true
			out = append(out, "step."+a.Name)
		}
	}
	sort.Strings(out)
	return out
}

// Endpoints lists the runbook's hub and pep blocks with the endpoint each
// declares.
func Endpoints(rb *lang.Runbook) []plan.Endpoint {
	var out []plan.Endpoint
	for _, name := range sortedNames(rb.Hubs) {
		out = append(out, plan.Endpoint{Block: "hub." + name, Address: rb.Hubs[name].Endpoint})
	}
	for _, name := range sortedNames(rb.PEPs) {
		out = append(out, plan.Endpoint{Block: "pep." + name, Address: strings.Join(rb.PEPs[name].Addresses, ", ")})
	}
	return out
}

// targetSet returns the targeted steps and everything they depend on, or nil
// when there are no targets.
func targetSet(g *dag.Graph, targets []string) (map[string]bool, hcl.Diagnostics) {
	if len(targets) == 0 {
		return nil, nil
	}
	var diags hcl.Diagnostics
	set := map[string]bool{}
	var stack []string
	for _, t := range targets {
		if !g.Has(t) {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid target",
				Detail:   fmt.Sprintf("There is no step %s in this runbook; -target takes step addresses such as step.eventhub_cert.", t),
			})
			continue
		}
		stack = append(stack, t)
	}
	for len(stack) > 0 {
		a := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if set[a] {
			continue
		}
		set[a] = true
		stack = append(stack, g.Dependencies(a)...)
	}
	return set, diags
}

// Inputs lists the variables: values of non-sensitive ones, and of
// sensitive ones an HMAC keyed for this plan alone (derived from key and the
// plan id), so that fingerprints in different plans cannot be compared.
func Inputs(rb *lang.Runbook, key []byte, planID string) []plan.Input {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("plan inputs " + planID))
	key = m.Sum(nil)
	var out []plan.Input
	for _, name := range sortedNames(rb.Variables) {
		v := rb.Variables[name]
		val := rb.VariableValue(name)
		in := plan.Input{Name: name, Sensitive: v.Sensitive || val.HasMark(lang.Sensitive), Source: v.Source}
		if in.Sensitive {
			un, _ := val.UnmarkDeep()
			if un.IsWhollyKnown() {
				b, err := ctyjson.Marshal(un, un.Type())
				if err == nil {
					in.Fingerprint = Fingerprint(key, b)
				}
			}
		} else {
			in.Value = val
		}
		out = append(out, in)
	}
	return out
}

// fitWindow checks the critical path against the chosen change window.
func fitWindow(rb *lang.Runbook, name string, now time.Time, critical time.Duration) (*plan.WindowFit, hcl.Diagnostics) {
	if len(rb.Windows) == 0 {
		if name != "" {
			return nil, hcl.Diagnostics{{
				Severity: hcl.DiagError, Summary: "No such window",
				Detail: fmt.Sprintf("-window %s was given, but the runbook declares no window.", name),
			}}
		}
		return nil, nil
	}
	w, diags := ChooseWindow(rb, name, now)
	if w == nil {
		return nil, diags
	}
	open, close, ok := w.Occurrence(now)
	if !ok {
		return &plan.WindowFit{Name: w.Name}, append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagWarning, Summary: "Change window has closed",
			Detail:  fmt.Sprintf("Window %q has closed and does not open again; apply will refuse to start any step.", w.Name),
			Subject: w.DeclRange.Ptr(),
		})
	}
	start := now
	if open.After(now) {
		start = open
	}
	fit := &plan.WindowFit{Name: w.Name, Open: open, Close: close, OpenNow: !now.Before(open)}
	end := start.Add(critical)
	fit.Fits = !end.After(close)
	fit.Spare = close.Sub(end)
	return fit, diags
}

// ChooseWindow returns the window named name, or the runbook's only window,
// or the one whose next opening comes first.
func ChooseWindow(rb *lang.Runbook, name string, now time.Time) (*lang.Window, hcl.Diagnostics) {
	if name != "" {
		w, ok := rb.Windows[name]
		if !ok {
			return nil, hcl.Diagnostics{{
				Severity: hcl.DiagError, Summary: "No such window",
				Detail: fmt.Sprintf("-window %s names no window of this runbook; it has %s.", name, strings.Join(sortedNames(rb.Windows), ", ")),
			}}
		}
		return w, nil
	}
	var best *lang.Window
	var bestOpen time.Time
	for _, n := range sortedNames(rb.Windows) {
		w := rb.Windows[n]
		open, _, ok := w.Occurrence(now)
		if !ok {
			continue
		}
		if best == nil || open.Before(bestOpen) {
			best, bestOpen = w, open
		}
	}
	if best == nil {
		return rb.Windows[sortedNames(rb.Windows)[0]], nil
	}
	return best, nil
}

func newPlanID() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

func objectVal(m map[string]cty.Value) cty.Value {
	if len(m) == 0 {
		return cty.EmptyObjectVal
	}
	return cty.ObjectVal(m)
}

func sortedNames[V any](m map[string]V) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
