package plan

import (
	"fmt"
	"maps"
	"time"

	"github.com/zclconf/go-cty/cty"
)

// A saved plan is applied only as it was reviewed. The checks are split
// by what they need: CheckExpiry the clock, CheckSources the runbook's
// files and inputs as they are now, Verify a fresh plan of the stamp as it
// is now. Each error says what changed and what to do, for the operator.

// CheckExpiry refuses a saved plan past its expiry at now.
func CheckExpiry(saved *Plan, now time.Time) error {
	if now.After(saved.ExpiresAt) {
		return fmt.Errorf("plan %s expired at %s; make a new plan", saved.ID, saved.ExpiresAt.UTC().Format(time.RFC3339))
	}
	return nil
}

// CheckSources checks that the runbook a saved plan was made from is
// unchanged: files are its files as they are now (every one, hashed as the
// planner hashes them), and inputs its variables as they are now, with the
// fingerprints of sensitive values keyed for saved.ID (so that they compare
// with the plan's). A sensitive value is compared by fingerprint only; a
// non-sensitive one by value.
func CheckSources(saved *Plan, files []File, inputs []Input) error {
	now := map[string]string{}
	for _, f := range files {
		now[f.Name] = f.SHA256
	}
	for _, f := range saved.Runbook.Files {
		got, ok := now[f.Name]
		switch {
		case !ok:
			return fmt.Errorf("%s was part of the plan but is gone; make a new plan", f.Name)
		case got != f.SHA256:
			return fmt.Errorf("%s changed since the plan was made; make a new plan", f.Name)
		}
		delete(now, f.Name)
	}
	for _, f := range files {
		if _, ok := now[f.Name]; ok {
			return fmt.Errorf("%s is new since the plan was made; make a new plan", f.Name)
		}
	}
	byName := map[string]Input{}
	for _, in := range inputs {
		byName[in.Name] = in
	}
	for _, in := range saved.Inputs {
		cur, ok := byName[in.Name]
		switch {
		case !ok:
			return fmt.Errorf("variable %q was part of the plan but is no longer declared", in.Name)
		case in.Sensitive:
			if cur.Fingerprint != in.Fingerprint {
				return fmt.Errorf("the value of sensitive variable %q differs from the one planned; give the same value (it is compared by fingerprint) or make a new plan", in.Name)
			}
		case in.Value == cty.NilVal || cur.Value == cty.NilVal:
			// Not recorded: nothing to compare.
		case !in.Value.RawEquals(cur.Value):
			return fmt.Errorf("the value of variable %q differs from the one planned", in.Name)
		}
	}
	return nil
}

// Verify checks that fresh, a plan made now of the runbook a saved plan
// was made from, proposes what saved did: the same steps, each with the
// same action, having read the same remote state, with the same inputs
// (files and secrets, by fingerprint). The error names the first step that
// differs and how.
func Verify(saved, fresh *Plan) error {
	if len(saved.Changes) != len(fresh.Changes) {
		return fmt.Errorf("it now has %d steps, the plan %d", len(fresh.Changes), len(saved.Changes))
	}
	for _, c := range saved.Changes {
		f := fresh.Change(c.Address)
		switch {
		case f == nil:
			return fmt.Errorf("%s is no longer in the runbook", c.Address)
		case f.Action != c.Action:
			return fmt.Errorf("%s would now %s (%c), the plan said %s (%c)", c.Address, f.Action, rune(f.Action), c.Action, rune(c.Action))
		case f.Remote != c.Remote:
			return fmt.Errorf("%s: the stamp's state is not what the plan read", c.Address)
		case !maps.Equal(f.Fingerprints, c.Fingerprints):
			return fmt.Errorf("%s: its inputs (files or secrets) changed since the plan", c.Address)
		}
	}
	return nil
}
