package addrs

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseStep(t *testing.T) {
	tests := map[string]struct {
		in      string
		want    Step
		wantErr bool
	}{
		"plain":         {in: "step.rotate", want: Step{Name: "rotate"}},
		"dashes":        {in: "step.sql-cert", want: Step{Name: "sql-cert"}},
		"no prefix":     {in: "rotate", wantErr: true},
		"other kind":    {in: "hub.east", wantErr: true},
		"empty name":    {in: "step.", wantErr: true},
		"attribute":     {in: "step.rotate.expires", wantErr: true},
		"prefix inside": {in: "xstep.rotate", wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := ParseStep(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("ParseStep(%q) error = %v, want error %v", tc.in, err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ParseStep(%q) (-want +got):\n%s", tc.in, diff)
			}
			if err == nil && got.String() != tc.in {
				t.Errorf("String() = %q, want %q", got.String(), tc.in)
			}
		})
	}
}

func TestMustParseStepPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("MustParseStep(\"rotate\") did not panic")
		}
	}()
	MustParseStep("rotate")
}
