package state

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/runbook-dev/runbook/addrs"
	"github.com/runbook-dev/runbook/executor/journal"
)

var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

// at returns t0 plus n minutes.
func at(n int) time.Time { return t0.Add(time.Duration(n) * time.Minute) }

// fakeRun is a journal for BuildHistory: its summary and its replay.
type fakeRun struct {
	status journal.RunStatus
	start  int
	steps  map[string]*journal.Step
	broken bool
}

func TestBuildHistory(t *testing.T) {
	ok := func(updated int, result map[string]string) *journal.Step {
		return &journal.Step{Status: journal.Succeeded, Updated: at(updated), Result: result}
	}
	tests := map[string]struct {
		runs []fakeRun
		want Histories
	}{
		"no journals": {want: Histories{}},
		"whole result kept": {
			runs: []fakeRun{{status: journal.RunSucceeded, start: 0, steps: map[string]*journal.Step{
				"step.cert": ok(5, map[string]string{"pfx_sha256": "ab", "package_id": "microsoft.eventhub.1.2003.0.0", "not_after": "2027-03-01T00:00:00Z"}),
			}}},
			want: Histories{addrs.StepOf("cert"): {
				LastSuccess:   map[string]string{"pfx_sha256": "ab", "package_id": "microsoft.eventhub.1.2003.0.0", "not_after": "2027-03-01T00:00:00Z"},
				LastSuccessAt: at(5),
			}},
		},
		"latest success wins": {
			runs: []fakeRun{
				{status: journal.RunSucceeded, start: 10, steps: map[string]*journal.Step{"step.cert": ok(12, map[string]string{"pfx_sha256": "new"})}},
				{status: journal.RunSucceeded, start: 0, steps: map[string]*journal.Step{"step.cert": ok(2, map[string]string{"pfx_sha256": "old"})}},
			},
			want: Histories{addrs.StepOf("cert"): {LastSuccess: map[string]string{"pfx_sha256": "new"}, LastSuccessAt: at(12)}},
		},
		"a failure after a success keeps the success": {
			runs: []fakeRun{
				{status: journal.RunSucceeded, start: 0, steps: map[string]*journal.Step{"step.cert": ok(2, map[string]string{"pfx_sha256": "ab"})}},
				{status: journal.RunFailed, start: 10, steps: map[string]*journal.Step{"step.cert": {Status: journal.Failed, Updated: at(11)}}},
			},
			want: Histories{addrs.StepOf("cert"): {LastSuccess: map[string]string{"pfx_sha256": "ab"}, LastSuccessAt: at(2)}},
		},
		"legacy journal kept only the fingerprint": {
			runs: []fakeRun{{status: journal.RunSucceeded, start: 0, steps: map[string]*journal.Step{
				"step.bmc": {Status: journal.Succeeded, Updated: at(1), Fingerprint: "hmac"},
			}}},
			want: Histories{addrs.StepOf("bmc"): {LastSuccess: map[string]string{"fingerprint": "hmac"}, LastSuccessAt: at(1)}},
		},
		"last run left a step in flight": {
			runs: []fakeRun{
				{status: journal.RunSucceeded, start: 0, steps: map[string]*journal.Step{"step.rotate": ok(2, map[string]string{"status": "Succeeded"})}},
				{status: journal.RunUnfinished, start: 10, steps: map[string]*journal.Step{
					"step.rotate": {InFlight: true, Handle: "https://op/1", Updated: at(11)},
					"step.cert":   ok(10, map[string]string{"pfx_sha256": "ab"}),
				}},
			},
			want: Histories{
				addrs.StepOf("rotate"): {LastSuccess: map[string]string{"status": "Succeeded"}, LastSuccessAt: at(2), InFlight: true, Handle: "https://op/1"},
				addrs.StepOf("cert"):   {LastSuccess: map[string]string{"pfx_sha256": "ab"}, LastSuccessAt: at(10)},
			},
		},
		"stopped last run counts as in flight": {
			runs: []fakeRun{{status: journal.RunStopped, start: 0, steps: map[string]*journal.Step{
				"step.rotate": {InFlight: true, Updated: at(1)},
			}}},
			want: Histories{addrs.StepOf("rotate"): {InFlight: true}},
		},
		"an older unfinished run is superseded": {
			runs: []fakeRun{
				{status: journal.RunUnfinished, start: 0, steps: map[string]*journal.Step{"step.rotate": {InFlight: true, Handle: "h", Updated: at(1)}}},
				{status: journal.RunSucceeded, start: 10, steps: map[string]*journal.Step{"step.rotate": ok(12, nil)}},
			},
			want: Histories{addrs.StepOf("rotate"): {LastSuccess: map[string]string{}, LastSuccessAt: at(12)}},
		},
		"a broken journal proves nothing": {
			runs: []fakeRun{{status: journal.RunSucceeded, start: 0, broken: true, steps: map[string]*journal.Step{"step.cert": ok(1, nil)}}},
			want: Histories{},
		},
		"records that are no step address are passed over": {
			runs: []fakeRun{{status: journal.RunSucceeded, start: 0, steps: map[string]*journal.Step{"cert": ok(1, nil)}}},
			want: Histories{},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var sums []journal.RunSummary
			byPath := map[string]fakeRun{}
			for i, r := range tc.runs {
				path := string(rune('a'+i)) + ".jsonl"
				byPath[path] = r
				n := 0
				for _, s := range r.steps {
					if s.Status == journal.Succeeded {
						n++
					}
				}
				sums = append(sums, journal.RunSummary{Path: path, Started: at(r.start), Status: r.status, Steps: journal.StepCounts{Succeeded: n}})
			}
			load := func(path string) (*journal.Run, error) {
				r := byPath[path]
				if r.broken {
					return nil, errors.New("broken chain")
				}
				return &journal.Run{Path: path, Status: r.status, Steps: r.steps}, nil
			}
			got := BuildHistory(sums, load)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("BuildHistory (-want +got):\n%s", diff)
			}
		})
	}
}

func TestHistoriesOf(t *testing.T) {
	h := Histories{addrs.StepOf("cert"): {InFlight: true}}
	if got := h.Of(addrs.StepOf("cert")); got == nil || !got.InFlight {
		t.Errorf("Of(step.cert) = %+v, want the in-flight history", got)
	}
	if got := h.Of(addrs.StepOf("other")); got != nil {
		t.Errorf("Of(step.other) = %+v, want nil", got)
	}
}
