package state

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/runbook-dev/runbook/executor/journal"
)

func TestFingerprinted(t *testing.T) {
	fp := FingerprintPrefix + "00ff"
	result := func(step string, st journal.Status, res map[string]string) journal.Record {
		return journal.Record{Type: journal.StepResult, Step: step, Status: st, Result: res}
	}
	tests := map[string]struct {
		recs []journal.Record
		want []string
	}{
		"none": {recs: []journal.Record{{Type: journal.RunStarted}}},
		"keyed result": {
			recs: []journal.Record{result("step.bmc", journal.Succeeded, map[string]string{"fingerprint": fp, "user": "root"})},
			want: []string{"step.bmc"},
		},
		"unkeyed hashes only": {
			recs: []journal.Record{result("step.eventhub", journal.Succeeded, map[string]string{"pfx_sha256": "ab", "cert_sha256": "cd"})},
		},
		"failed step": {
			recs: []journal.Record{result("step.bmc", journal.Failed, map[string]string{"fingerprint": fp})},
		},
		"legacy field": {
			recs: []journal.Record{{Type: journal.StepResult, Step: "step.bmc", Status: journal.Succeeded, Fingerprint: fp}},
			want: []string{"step.bmc"},
		},
		"sorted, once each": {
			recs: []journal.Record{
				result("step.z", journal.Succeeded, map[string]string{"fingerprint": fp}),
				result("step.a", journal.Succeeded, map[string]string{"fingerprint": fp, "other": fp}),
				result("step.z", journal.Succeeded, map[string]string{"fingerprint": fp}),
			},
			want: []string{"step.a", "step.z"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, fingerprinted(tc.recs)); diff != "" {
				t.Errorf("fingerprinted (-want +got):\n%s", diff)
			}
		})
	}
}
