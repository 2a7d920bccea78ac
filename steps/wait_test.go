package steps

import (
	"context"
	"testing"
	"testing/fstest"
	"time"

	"github.com/runbook-dev/runbook/clock"
	"github.com/runbook-dev/runbook/executor"
	"github.com/runbook-dev/runbook/executor/plan"
	"github.com/runbook-dev/runbook/lang"
	"github.com/zclconf/go-cty/cty"
)

func TestWait(t *testing.T) {
	tests := map[string]struct {
		duration string
		wantErr  bool
	}{
		"minutes": {duration: "15m"},
		"days":    {duration: "1d"},
		"bad":     {duration: "soon", wantErr: true},
		"zero":    {duration: "0s", wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			src := `step "wait" "w" {
  duration = "` + tc.duration + `"
}`
			rb, diags := lang.Load(fstest.MapFS{"main.runbook.hcl": {Data: []byte(src)}}, ".", lang.Options{StepTypes: []string{"wait"}})
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			w := NewWait()
			cfg, diags := executor.DecodeStep(rb.Steps["w"], w, rb.EvalContext(nil, cty.NilVal))
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			resp := w.Plan(context.Background(), &executor.PlanRequest{Config: cfg})
			if tc.wantErr {
				if !resp.Diagnostics.HasErrors() {
					t.Fatal("want an error")
				}
				return
			}
			if resp.Action != plan.Run || resp.ExpectedDuration <= 0 {
				t.Fatalf("plan %+v", resp)
			}
			start := time.Date(2026, 11, 28, 22, 0, 0, 0, time.UTC)
			fake := clock.NewFake(start)
			done := make(chan *executor.ApplyResponse)
			go func() { done <- w.Apply(context.Background(), &executor.ApplyRequest{Config: cfg, Clock: fake}) }()
			if err := fake.BlockUntil(context.Background(), 1); err != nil {
				t.Fatal(err)
			}
			fake.Advance(resp.ExpectedDuration - time.Second)
			// The wait's timer, due at the end of the duration, is still
			// pending: the wait has not ended a second early.
			if next, ok := fake.Next(); !ok || !next.Equal(start.Add(resp.ExpectedDuration)) {
				t.Fatalf("next timer = %v, %v; want the wait's, due at %v", next, ok, start.Add(resp.ExpectedDuration))
			}
			fake.Advance(time.Second)
			if r := <-done; r.Err != nil {
				t.Fatal(r.Err)
			}
		})
	}
}
