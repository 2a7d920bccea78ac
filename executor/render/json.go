package render

import (
	"encoding/json"
	"io"

	"github.com/runbook-dev/runbook/executor/plan"
)

// JSON writes the plan's versioned JSON form (docs/plan-json.md), indented.
func JSON(w io.Writer, p *plan.Plan) error {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
