package hub

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	simhub "github.com/runbook-dev/runbook/sim/hub"
)

type alertRow struct {
	Kind, Severity, State string
	DaysLeft              int
	Exact                 bool
}

func alertRows(t *testing.T, alerts []Alert, now time.Time) []alertRow {
	t.Helper()
	var out []alertRow
	for _, a := range alerts {
		exp, exact, ok := a.Expires()
		if !ok {
			t.Fatalf("alert %s names no expiry", a.Name)
		}
		out = append(out, alertRow{a.ExpiryKind(), a.Properties.Severity, a.Properties.State, int(exp.Sub(now).Hours() / 24), exact})
	}
	return out
}

// TestSimAlerts: the simulated stamp raises the expiry alerts from its own
// secrets' dates (a warning within 90 days, critical within 30), the
// client reads every page and filters again, and a rotation closes them.
func TestSimAlerts(t *testing.T) {
	sc, err := simhub.ScenarioByName("near-expiry")
	if err != nil {
		t.Fatal(err)
	}
	f := startSim(t, simhub.Options{Scenario: &sc, PageSize: 1})
	c, _ := f.client(t)
	ctx := context.Background()

	active, err := c.ListAlerts(ctx, AlertFilter{State: "Active"})
	if err != nil {
		t.Fatal(err)
	}
	want := []alertRow{
		{ExpiryInternalCertificates, "Warning", "Active", 60, true},
		{ExpiryExternalCertificates, "Critical", "Active", 25, true},
	}
	if diff := cmp.Diff(want, alertRows(t, active, epoch)); diff != "" {
		t.Errorf("active alerts (-want +got):\n%s", diff)
	}
	if n := len(f.srv.Calls()); n < 3 {
		t.Errorf("%d calls: the two alerts should take two pages", n)
	}

	// 31 days on, the internal certificates' warning turns critical.
	f.clock.Advance(31 * 24 * time.Hour)
	crit, err := c.ListAlerts(ctx, AlertFilter{State: "Active", Severity: "Critical"})
	if err != nil {
		t.Fatal(err)
	}
	if len(crit) != 2 {
		t.Errorf("critical alerts after 31 days: %+v", alertRows(t, crit, f.clock.Now()))
	}

	// A rotation of the external certificates closes their alert.
	f.srv.RotateInfrastructure(false, f.clock.Now().AddDate(2, 0, 0))
	all, err := c.ListAlerts(ctx, AlertFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var closed, open []string
	for _, a := range all {
		if a.Active() {
			open = append(open, a.ExpiryKind())
		} else {
			closed = append(closed, a.ExpiryKind())
			if a.Properties.ClosedTimestamp == "" {
				t.Errorf("closed alert %s has no closedTimestamp", a.Name)
			}
		}
	}
	if diff := cmp.Diff([]string{ExpiryInternalCertificates}, open); diff != "" {
		t.Errorf("open after rotation (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{ExpiryExternalCertificates}, closed); diff != "" {
		t.Errorf("closed after rotation (-want +got):\n%s", diff)
	}
}

// TestAlertExpires: the expiry an alert names, and the conservative bound
// when it names none.
func TestAlertExpires(t *testing.T) {
	created := "2026-11-01T10:00:00.123456Z"
	c0, _ := parseARMTime(created)
	tests := map[string]struct {
		props AlertProperties
		want  time.Time
		exact bool
	}{
		"property": {AlertProperties{AlertProperties: map[string]string{"expirationDate": "2026-12-20T00:00:00Z"}, CreatedTimestamp: created},
			time.Date(2026, 12, 20, 0, 0, 0, 0, time.UTC), true},
		"description": {AlertProperties{Description: []map[string]string{{"type": "Text", "text": "They expire on 2026-12-24."}}, CreatedTimestamp: created},
			time.Date(2026, 12, 24, 0, 0, 0, 0, time.UTC), true},
		"critical, no date": {AlertProperties{Severity: "critical", CreatedTimestamp: created}, c0.Add(30 * 24 * time.Hour), false},
		"warning, no date":  {AlertProperties{Severity: "Warning", CreatedTimestamp: created}, c0.Add(90 * 24 * time.Hour), false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, exact, ok := Alert{Properties: tc.props}.Expires()
			if !ok || !got.Equal(tc.want) || exact != tc.exact {
				t.Errorf("Expires() = %v, %v, %v; want %v, %v", got, exact, ok, tc.want, tc.exact)
			}
		})
	}
}
