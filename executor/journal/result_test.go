package journal

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestResultReplayed checks that a success's whole result is kept and
// replayed, that a new attempt forgets it, and that a result is refused
// where it does not belong.
func TestResultReplayed(t *testing.T) {
	result := map[string]string{"pfx_sha256": "ab12", "package_id": "microsoft.eventhub.1.2003.0.0", "not_after": "2027-03-01T00:00:00Z"}
	tests := map[string]struct {
		records []Record
		want    map[string]string
	}{
		"success keeps the result": {
			records: []Record{
				{Type: StepIntent, Step: "step.cert", Attempt: 1, Action: "import"},
				{Type: StepResult, Step: "step.cert", Attempt: 1, Status: Succeeded, Result: result},
			},
			want: result,
		},
		"a new attempt forgets it": {
			records: []Record{
				{Type: StepIntent, Step: "step.cert", Attempt: 1, Action: "import"},
				{Type: StepResult, Step: "step.cert", Attempt: 1, Status: Succeeded, Result: result},
				{Type: StepIntent, Step: "step.cert", Attempt: 2, Action: "import"},
			},
			want: nil,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			j, err := Create(dir, "r1", newTicking())
			if err != nil {
				t.Fatal(err)
			}
			for _, rec := range append([]Record{{Type: RunStarted, PlanID: "p"}}, tc.records...) {
				if err := j.Append(rec); err != nil {
					t.Fatal(err)
				}
			}
			if err := j.Close(); err != nil {
				t.Fatal(err)
			}
			run, err := Load(filepath.Join(dir, "r1.jsonl"))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, run.Steps["step.cert"].Result); diff != "" {
				t.Errorf("Result (-want +got):\n%s", diff)
			}
		})
	}

	bad := map[string]Record{
		"on an intent":  {Type: StepIntent, Step: "step.cert", Attempt: 1, Result: result},
		"on a failure":  {Type: StepResult, Step: "step.cert", Attempt: 1, Status: Failed, Error: "no", Result: result},
		"on a run end":  {Type: RunEnded, Status: Succeeded, Result: result},
		"on a progress": {Type: StepProgress, Step: "step.cert", Percent: 10, Result: result},
	}
	j, err := Create(t.TempDir(), "r2", newTicking())
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if err := j.Append(Record{Type: RunStarted, PlanID: "p"}); err != nil {
		t.Fatal(err)
	}
	for name, rec := range bad {
		if err := j.Append(rec); !errors.Is(err, ErrInvalidRecord) {
			t.Errorf("result %s: err = %v, want ErrInvalidRecord", name, err)
		}
	}
}
