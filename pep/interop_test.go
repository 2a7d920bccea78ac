package pep

import (
	"context"
	"testing"

	simpep "github.com/runbook-dev/runbook/sim/pep"
	simwsman "github.com/runbook-dev/runbook/sim/wsman"
	"github.com/runbook-dev/runbook/wsman"
)

// TestServerChosenShellID: a WinRM 2.0 server ignores the ShellId the
// client proposes and returns its own. PowerShell accepts that and keeps
// its RunspacePool id; so does the client: the session opens and runs a
// command.
func TestServerChosenShellID(t *testing.T) {
	e := newEnv(t, mode{server: simwsman.Config{Auth: simwsman.AuthBasic, ServerShellIDs: true}, auth: wsman.AuthBasic}, simpep.Config{})
	s := e.dial(t)
	res, err := s.Invoke(context.Background(), Call{Cmdlet: "Get-Command", Params: []Param{{Name: "Name", Value: "Get-Command"}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Output) != 1 {
		t.Fatalf("Get-Command: %d objects", len(res.Output))
	}
	var shellID string
	for _, r := range e.ep.WSMan.Requests() {
		if r.Action == wsman.ActionCreate {
			shellID = r.ShellID
		}
	}
	if shellID == "" || shellID == s.(*session).rpid.Upper() {
		t.Errorf("ShellId %q: the server did not choose it", shellID)
	}
}
