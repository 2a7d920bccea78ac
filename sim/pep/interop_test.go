package pep

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/runbook-dev/runbook/pep/psrp"
	simwsman "github.com/runbook-dev/runbook/sim/wsman"
	"github.com/runbook-dev/runbook/wsman"
)

// These tests send what clients other than package pep send (pypsrp, the
// client Ansible uses) and check that the endpoint answers as Windows does.

// TestInformationRecordAsWindows: the INFORMATION_RECORD after
// Set-BmcCredential carries every property of MS-PSRP 2.2.5.1.26; pypsrp
// fails with "Mandatory return value for 'TimeGenerated' was not found"
// on a record without them.
func TestInformationRecordAsWindows(t *testing.T) {
	_, r := startRaw(t, Config{BMCPassword: "First-Bmc-Pw-1", BMCUpdateTime: time.Millisecond})
	r.exchangeKeys()
	res := r.run(command("Set-BmcCredential", psrp.Argument{Name: "BmcPassword", Value: psrp.NewSecureString("Next-Bmc-Pw-2")}))
	if res.state.State != psrp.Completed || len(res.infoObjs) == 0 {
		t.Fatalf("Set-BmcCredential: state %v, %d information records", res.state.State, len(res.infoObjs))
	}
	o := res.infoObjs[0]
	want := map[string]string{
		"MessageData": "string", "Source": "string", "TimeGenerated": "time.Time", "Tags": "*psrp.Object",
		"User": "string", "Computer": "string", "ProcessId": "uint32", "NativeThreadId": "uint32", "ManagedThreadId": "uint32",
	}
	got := map[string]string{}
	for name := range want {
		if v, ok := o.Get(name); ok {
			got[name] = goType(v)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("INFORMATION_RECORD properties (-want +got):\n%s", diff)
	}
	if u := o.String("User"); u != rawUser {
		t.Errorf("User = %q, want %q", u, rawUser)
	}
}

func goType(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case time.Time:
		return "time.Time"
	case uint32:
		return "uint32"
	case *psrp.Object:
		return "*psrp.Object"
	}
	return "other"
}

// TestPoolIDFromCreationXML: the RunspacePool id is the one the client
// put in the creationXml, whatever the ShellId; here the server chooses
// the ShellId, as a WinRM 2.0 server does.
func TestPoolIDFromCreationXML(t *testing.T) {
	ep, err := Start(Config{}, rawWSMan())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ep.Close() })
	r := dialRaw(t, ep, "-")
	if r.sh.ID == r.rpid.Upper() {
		t.Fatalf("the server took the pool id %s as the ShellId", r.sh.ID)
	}
	st, err := psrp.ParsePoolState(r.poolUntil(psrp.MsgRunspacePoolState))
	if err != nil || st.State != psrp.PoolOpened {
		t.Fatalf("pool state %v, %v", st.State, err)
	}
	res := r.run(command("Get-Command", psrp.Argument{Name: "Name", Value: "Get-Command"}))
	if res.state.State != psrp.Completed || len(res.output) != 1 {
		t.Fatalf("Get-Command: %v, %d objects", res.state.State, len(res.output))
	}
	if id, _ := res.output[0].(*psrp.Object).Get("RunspaceId"); id != r.rpid {
		t.Errorf("RunspaceId = %v, want the client's pool id %v", id, r.rpid)
	}
}

func rawWSMan() simwsman.Config {
	return simwsman.Config{Auth: simwsman.AuthBasic, Username: rawUser, Password: rawPass}
}

// TestPoolOpenAsWindows: Windows answers the three messages that open a
// pool in three Receives, each message's CLIXML behind a UTF-8 byte-order
// mark; Get-Command writes live FunctionInfo objects, whose type names
// carry no "Deserialized." prefix on the wire.
func TestPoolOpenAsWindows(t *testing.T) {
	_, r := startRawUnopened(t)
	var types []psrp.MessageType
	for range 3 {
		got, err := r.sh.Receive(context.Background(), "", "stdout")
		if err != nil {
			t.Fatal(err)
		}
		var msgs [][]byte
		for _, st := range got.Streams {
			m, err := r.in.Feed(st.Data)
			if err != nil {
				t.Fatal(err)
			}
			msgs = append(msgs, m...)
		}
		if len(msgs) != 1 {
			t.Fatalf("a Receive carried %d messages, want 1", len(msgs))
		}
		m, err := psrp.ParseMessage(msgs[0])
		if err != nil {
			t.Fatal(err)
		}
		types = append(types, m.Type)
		if !bytes.HasPrefix(msgs[0][psrp.MessageHeaderLen:], []byte{0xEF, 0xBB, 0xBF}) {
			t.Errorf("%v: CLIXML without a byte-order mark", m.Type)
		}
	}
	if diff := cmp.Diff([]psrp.MessageType{psrp.MsgSessionCapability, psrp.MsgApplicationPrivateData, psrp.MsgRunspacePoolState}, types); diff != "" {
		t.Errorf("pool messages (-want +got):\n%s", diff)
	}
	res := r.run(command("Get-Command", psrp.Argument{Name: "Name", Value: "Get-Command"}))
	if len(res.output) != 1 {
		t.Fatalf("Get-Command: %d objects", len(res.output))
	}
	want := []string{"System.Management.Automation.FunctionInfo", "System.Management.Automation.CommandInfo", "System.Object"}
	if diff := cmp.Diff(want, res.output[0].(*psrp.Object).TypeNames); diff != "" {
		t.Errorf("Get-Command type names (-want +got):\n%s", diff)
	}
}

func startRawUnopened(t *testing.T) (*Endpoint, *raw) {
	t.Helper()
	ep, err := Start(Config{}, rawWSMan())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ep.Close() })
	return ep, dialRaw(t, ep, "")
}

// TestCommandIDAfterTerminate: once a pipeline is terminated, its id may
// start another pipeline, as on Windows.
func TestCommandIDAfterTerminate(t *testing.T) {
	_, r := startRaw(t, Config{})
	pid, _ := psrp.NewGUID(nil)
	for i := range 2 {
		res := r.runAs(pid, pid.Upper(), command("Get-Command", psrp.Argument{Name: "Name", Value: "Get-Command"}))
		if res.state.State != psrp.Completed {
			t.Fatalf("run %d: %v", i+1, res.state.State)
		}
		if err := r.sh.Signal(context.Background(), pid.Upper(), wsman.SignalTerminate); err != nil {
			t.Fatalf("run %d: terminate: %v", i+1, err)
		}
	}
}

// TestStatementsInExtraCmds: two statements, as PowerShell and pypsrp send
// them (ExtraCmds lists both, Cmds repeats the first), are refused as
// script, and the transcript names each command once, in order.
func TestStatementsInExtraCmds(t *testing.T) {
	ep, r := startRaw(t, Config{})
	res := r.run(psrp.CreatePipeline{NoInput: true, Commands: []psrp.Command{
		{Cmd: "Get-Command", EndOfStatement: true},
		{Cmd: "Get-AzureStackStampInformation"},
	}})
	if res.state.State != psrp.Failed || res.state.Error == nil || res.state.Error.FullyQualifiedErrorId != "ScriptsNotAllowed" {
		t.Fatalf("state %+v, want Failed with ScriptsNotAllowed", res.state)
	}
	tr := ep.Transcript()
	if got := tr[len(tr)-1].Command; got != "Get-Command; Get-AzureStackStampInformation" {
		t.Errorf("transcript command %q", got)
	}
}
