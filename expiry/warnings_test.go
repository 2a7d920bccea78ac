package expiry

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/runbook-dev/runbook/executor/plan"
)

func TestPlanWarnings(t *testing.T) {
	now := time.Date(2026, 11, 28, 23, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	changes := []*plan.Change{
		{Address: "step.cert", Action: plan.Update, ExpectedDuration: time.Minute},
		{Address: "step.rotate", Action: plan.Run, ExpectedDuration: 4 * time.Hour, DependsOn: []string{"step.cert"}},
		{Address: "step.same", Action: plan.NoOp},
	}
	eh := Secret{Block: "hub.east", What: "certificate eh", Where: "microsoft.eventhub", Exact: true,
		Source: SourceProductSecret, RotatedBy: []string{"step.cert", "step.rotate"}}
	tests := map[string]struct {
		window  *plan.WindowFit
		secrets []Secret
		want    []string
	}{
		"expires before the window opens": {
			window:  &plan.WindowFit{Name: "friday", Open: now.Add(6 * day), Close: now.Add(6*day + 8*time.Hour)},
			secrets: []Secret{with(eh, now.Add(3*day))},
			want:    []string{`certificate eh (hub.east microsoft.eventhub) expires on 2026-12-01 (in 3 days, product secret expirationDate), before the change window "friday" opens at 2026-12-04 23:00 UTC: step.cert, step.rotate will rotate it only then, and the stamp runs on an expired secret until it does.`},
		},
		"expires before the rotation finishes": {
			secrets: []Secret{with(eh, now.Add(2*time.Hour))},
			want:    []string{`certificate eh (hub.east microsoft.eventhub) expires on 2026-11-29 (within a day, product secret expirationDate), before step.cert, step.rotate can finish rotating it (expected by 2026-11-29 03:01 UTC).`},
		},
		"rotated in time": {
			window:  &plan.WindowFit{Name: "now", Open: now.Add(-time.Hour), OpenNow: true},
			secrets: []Secret{with(eh, now.Add(5*time.Hour))},
		},
		"no step, within the horizon": {
			secrets: []Secret{{Block: "hub.east", What: "external certificates", Where: "stamp", Expires: now.Add(25 * day), Exact: true, Source: SourceAlert}},
			want:    []string{"external certificates (hub.east stamp) expire on 2026-12-23 (in 25 days, alert), and no step of this runbook rotates it."},
		},
		"no step, an alert without a date": {
			secrets: []Secret{{Block: "hub.east", What: "internal certificates", Where: "stamp", Expires: now.Add(30 * day), Source: SourceAlert}},
			want:    []string{"internal certificates (hub.east stamp) expire by 2026-12-28 at the latest (alert), and no step of this runbook rotates it."},
		},
		"no step, beyond the horizon": {
			secrets: []Secret{{Block: "hub.east", What: "root CA", Expires: now.Add(400 * day), Exact: true}},
		},
		"covered only by a step that does nothing": {
			secrets: []Secret{{Block: "hub.east", What: "x", Expires: now.Add(time.Hour), Exact: true, RotatedBy: []string{"step.same"}}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p := &plan.Plan{Changes: changes, Window: tc.window}
			got := PlanWarnings(p, tc.secrets, now, DefaultHorizon)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			for _, w := range got {
				if strings.Contains(w, "\n") {
					t.Errorf("warning spans lines: %q", w)
				}
			}
		})
	}
}

func with(s Secret, expires time.Time) Secret {
	s.Expires = expires
	return s
}
