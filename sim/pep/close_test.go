package pep

import (
	"context"
	"encoding/base64"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/runbook-dev/runbook/clock"
	"github.com/runbook-dev/runbook/pep/psrp"
	"github.com/runbook-dev/runbook/wsman"
)

// TestCloseRecordsRunningCommand closes the PEP while Set-BmcCredential
// runs, after it changed the first BMC: the state file written by Close
// names the command in the transcript and the action as stopped, so that
// no BMC changes without a transcribed command.
func TestCloseRecordsRunningCommand(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pep.json")
	f := clock.NewFake(time.Date(2026, 11, 28, 23, 0, 0, 0, time.UTC))
	cfg := Config{StatePath: path, Clock: f, BMCPassword: "First-Bmc-Pw-1", BMCUpdateTime: 20 * time.Second}
	ep, r := startRaw(t, cfg)
	r.exchangeKeys()

	// The command is sent and its output never read: the client is gone.
	base := f.Waiters()
	pid, _ := psrp.NewGUID(nil)
	cp := command("Set-BmcCredential", psrp.Argument{Name: "BmcPassword", Value: psrp.NewSecureString("Next-Bmc-Pw-2")})
	payloads := psrp.Pack(r.message(psrp.MsgCreatePipeline, pid, cp.Object()), 1<<20)
	if _, err := r.sh.Command(context.Background(), wsman.CommandOptions{CommandID: pid.Upper(), Arguments: []string{base64.StdEncoding.EncodeToString(payloads[0])}}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The action plan sleeps before each node: let the first one through.
	if err := f.BlockUntil(ctx, base+1); err != nil {
		t.Fatal(err)
	}
	f.Advance(cfg.BMCUpdateTime)
	if err := f.BlockUntil(ctx, base+1); err != nil {
		t.Fatal(err)
	}

	ep.PEP.Close()
	reloaded, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range reloaded.Transcript() {
		got = append(got, e.Command+": "+e.Outcome)
	}
	if diff := cmp.Diff([]string{"Set-BmcCredential: Stopped"}, got); diff != "" {
		t.Errorf("transcript after Close (-want +got):\n%s", diff)
	}
	st := reloaded.State()
	if len(st.Actions) != 1 || st.Actions[0].Status != "Failed" || st.Actions[0].Error != "stopped" {
		t.Errorf("actions after Close: %+v, want one stopped", st.Actions)
	}
	if !reloaded.BMCPasswordMatches("AzS-Node01", "Next-Bmc-Pw-2") || !reloaded.BMCPasswordMatches("AzS-Node02", "First-Bmc-Pw-1") {
		t.Error("want the first BMC changed and the second not")
	}
}
