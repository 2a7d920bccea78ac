package pep

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	simpep "github.com/runbook-dev/runbook/sim/pep"
	simwsman "github.com/runbook-dev/runbook/sim/wsman"
)

// TestSetBmcCredentialSecretStaysEncrypted runs Set-BmcCredential with a
// canary password in every transport mode and searches every output for it:
// the PEP's transcript, the simulator's request log (unsealed, and with
// every base64 payload unpacked down to the CLIXML), the client's debug
// log, the state file and the errors. Only the fake BMCs may know it.
func TestSetBmcCredentialSecretStaysEncrypted(t *testing.T) {
	for name, m := range modes {
		t.Run(name, func(t *testing.T) {
			statePath := filepath.Join(t.TempDir(), "pep.json")
			e := newEnv(t, m, simpep.Config{StatePath: statePath})
			ctx := context.Background()
			s, err := Dial(ctx, e.cfg)
			if err != nil {
				t.Fatal(err)
			}
			res, err := s.Invoke(ctx, Call{Cmdlet: "Set-BmcCredential", Params: []Param{
				{Name: "BmcPassword", Value: canary, Secret: true},
				{Name: "BmcUser", Value: "bmcadmin"},
			}})
			if err != nil {
				// Go on: the searches below must run whatever happened.
				t.Error(err)
				assertNoSecret(t, canary, "the error", err.Error())
			}
			if err := s.Close(ctx); err != nil {
				t.Error(err)
			}
			for _, n := range e.ep.State().Nodes {
				if !e.ep.BMCPasswordMatches(n.Name, canary) || !n.InSync || n.BMCUser != "bmcadmin" {
					t.Errorf("node %s: BMC not updated (%+v)", n.Name, n)
				}
			}
			if len(res.Progress) == 0 || len(res.Information) == 0 {
				t.Errorf("no progress or information from the action plan: %+v", res)
			}

			var transcript []string
			for _, te := range e.ep.Transcript() {
				transcript = append(transcript, te.Text())
			}
			if !strings.Contains(strings.Join(transcript, ""), `name="BmcPassword"; value="System.Security.SecureString"`) {
				t.Errorf("transcript does not show the SecureString parameter:\n%s", strings.Join(transcript, ""))
			}
			assertNoSecret(t, canary, "the PEP transcript", transcript...)
			traffic := decodedTraffic(t, e.ep.WSMan.Requests())
			if !strings.Contains(strings.Join(traffic, ""), `<SS N="V">`) {
				t.Error("the decoded traffic holds no SecureString: the search below proves less")
			}
			assertNoSecret(t, canary, "the request log", traffic...)
			assertNoSecret(t, canary, "the client log", e.logs.String())
			state, err := os.ReadFile(statePath)
			if err != nil {
				t.Fatal(err)
			}
			assertNoSecret(t, canary, "the state file", string(state))
		})
	}
}

// TestRoundTripsOfSetBmcCredential counts what one Set-BmcCredential costs
// on a fresh session: Create and a Receive to open the pool, a Send and a
// Receive for the key exchange, Command, Receive (more than one when
// progress arrives before the end) and the terminate Signal for the
// pipeline, and Delete: eight WS-Management operations at least.
func TestRoundTripsOfSetBmcCredential(t *testing.T) {
	wantOps := []string{"Create", "Receive", "Send", "Receive", "Command", "Receive", "Signal", "Delete"}
	for name, m := range modes {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, m, simpep.Config{})
			ctx := context.Background()
			s, err := Dial(ctx, e.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Invoke(ctx, Call{Cmdlet: "Set-BmcCredential", Params: []Param{{Name: "BmcPassword", Value: canary, Secret: true}}}); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(ctx); err != nil {
				t.Fatal(err)
			}
			var ops, compact []string
			for _, r := range e.ep.WSMan.Requests() {
				if r.Action == "" {
					continue
				}
				op := r.Action[strings.LastIndex(r.Action, "/")+1:]
				ops = append(ops, op)
				// The pipeline's output may come in more than one Receive
				// (progress streams while the action plan runs).
				if n := len(compact); n > 0 && op == "Receive" && compact[n-1] == "Receive" {
					continue
				}
				compact = append(compact, op)
			}
			if diff := cmp.Diff(wantOps, compact); diff != "" {
				t.Errorf("WS-Management operations, repeated Receives merged (-want +got):\n%s", diff)
			}
			t.Logf("%s: %d WS-Management operations, %d HTTP round trips, %d connections", name, len(ops), e.ep.WSMan.RoundTrips(), e.ep.WSMan.Connections())
		})
	}
}

func TestKeyExchangeOnlyWhenNeeded(t *testing.T) {
	e := newEnv(t, modes["basic over http"], simpep.Config{})
	s := e.dial(t)
	ctx := context.Background()
	sends := func() int {
		n := 0
		for _, r := range e.ep.WSMan.Requests() {
			if strings.HasSuffix(r.Action, "/Send") {
				n++
			}
		}
		return n
	}
	if _, err := s.Invoke(ctx, Call{Cmdlet: "Get-AzureStackStampInformation"}); err != nil {
		t.Fatal(err)
	}
	if n := sends(); n != 0 {
		t.Fatalf("%d Sends before any secret: the key exchange ran without need", n)
	}
	for i := range 2 {
		if _, err := s.Invoke(ctx, Call{Cmdlet: "Set-BmcCredential", Params: []Param{{Name: "BmcPassword", Value: canary, Secret: true}}}); err != nil {
			t.Fatal(err)
		}
		if n := sends(); n != 1 {
			t.Fatalf("after secret call %d: %d Sends, want exactly one PUBLIC_KEY", i+1, n)
		}
	}
}

func TestStampInformation(t *testing.T) {
	e := newEnv(t, modes["basic over http"], simpep.Config{ComputerName: "AzS-ERCS02"})
	s := e.dial(t)
	res, err := s.Invoke(context.Background(), Call{Cmdlet: "Get-AzureStackStampInformation"})
	if err != nil {
		t.Fatal(err)
	}
	objs := res.Objects()
	if len(objs) != 1 {
		t.Fatalf("%d objects, want 1", len(objs))
	}
	got := objs[0].(map[string]any)
	want := map[string]any{
		"StampVersion":                "1.2408.0.20",
		"ExternalDomainFQDN":          "local.azurestack.external",
		"IdentitySystem":              "AzureAD",
		"PSComputerName":              "AzS-ERCS02",
		"EmergencyConsoleIPAddresses": []any{"10.0.0.224", "10.0.0.225", "10.0.0.226"},
		"AdminExternalEndpoints": map[string]any{
			"AdminPortal":          "https://adminportal.local.azurestack.external/",
			"AdminResourceManager": "https://adminmanagement.local.azurestack.external/",
		},
	}
	for k, v := range want {
		if diff := cmp.Diff(v, got[k]); diff != "" {
			t.Errorf("%s (-want +got):\n%s", k, diff)
		}
	}
	if _, ok := got["RootCACertificates"].([]any)[0].(map[string]any)["NotAfter"]; !ok {
		t.Errorf("RootCACertificates[0].NotAfter missing: %v", got["RootCACertificates"])
	}
}

func TestCloseShipsTranscripts(t *testing.T) {
	e := newEnv(t, modes["sealed ntlm over http"], simpep.Config{})
	s := e.dial(t)
	ctx := context.Background()
	if _, err := s.Invoke(ctx, Call{Cmdlet: "Get-AzureStackStampInformation"}); err != nil {
		t.Fatal(err)
	}
	_, err := s.Invoke(ctx, Call{Cmdlet: "Close-PrivilegedEndpoint", Params: []Param{
		{Name: "TranscriptsPathDestination", Value: `\\10.0.0.5\transcripts`},
		{Name: "Credential", Value: Credential{Username: `CONTOSO\share`, Password: canary}, Secret: true},
	}})
	if err != nil {
		t.Fatal(err)
	}
	st := e.ep.State()
	if st.Shipped != 1 || st.Transcripts != 1 {
		t.Errorf("shipped %d, left %d; want the earlier command shipped and the closing one left", st.Shipped, st.Transcripts)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, te := range append(e.ep.Transcript(), e.ep.ShippedTranscripts()...) {
		texts = append(texts, te.Text())
	}
	assertNoSecret(t, canary, "the transcripts", texts...)
	assertNoSecret(t, canary, "the request log", decodedTraffic(t, e.ep.WSMan.Requests())...)
}

func TestInvokeRefusesScriptAndLooseSecrets(t *testing.T) {
	e := newEnv(t, modes["basic over http"], simpep.Config{})
	s := e.dial(t)
	before := len(e.ep.WSMan.Requests())
	tests := map[string]Call{
		"script text":              {Cmdlet: "Set-BmcCredential -BmcPassword $p"},
		"statement separator":      {Cmdlet: "Get-Command; whoami"},
		"no verb":                  {Cmdlet: "whoami"},
		"parameter with a dash":    {Cmdlet: "Get-Command", Params: []Param{{Name: "-Name", Value: "x"}}},
		"parameter given twice":    {Cmdlet: "Get-Command", Params: []Param{{Name: "Name", Value: "a"}, {Name: "Name", Value: "b"}}},
		"credential not secret":    {Cmdlet: "Close-PrivilegedEndpoint", Params: []Param{{Name: "Credential", Value: Credential{Password: canary}}}},
		"secret of the wrong type": {Cmdlet: "Set-BmcCredential", Params: []Param{{Name: "BmcPassword", Value: 1234, Secret: true}}},
		"unsupported value type":   {Cmdlet: "Get-Command", Params: []Param{{Name: "Name", Value: struct{ X string }{canary}}}},
	}
	for name, call := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := s.Invoke(context.Background(), call)
			if err == nil {
				t.Fatal("Invoke accepted it")
			}
			assertNoSecret(t, canary, "the error", err.Error())
		})
	}
	if after := len(e.ep.WSMan.Requests()); after != before {
		t.Errorf("%d requests reached the PEP; refusals must be local", after-before)
	}
}

func TestInvokeAfterClose(t *testing.T) {
	e := newEnv(t, modes["basic over http"], simpep.Config{})
	s := e.dial(t)
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := s.Invoke(context.Background(), Call{Cmdlet: "Get-Command"}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Invoke after Close = %v, want ErrClosed", err)
	}
	if n := e.ep.State().Sessions; n != 0 {
		t.Errorf("%d sessions left open on the PEP", n)
	}
}

func TestGetCommand(t *testing.T) {
	tests := map[string]struct {
		cfg       simpep.Config
		name      any
		want      []string
		wantError string
	}{
		"wildcard":        {name: "Set-Bmc*", want: []string{"Set-BmcCredential", "Set-BmcPassword"}},
		"older stamp":     {cfg: simpep.Config{LegacyOnly: true}, name: "Set-Bmc*", want: []string{"Set-BmcPassword"}},
		"exact, any case": {name: "get-actionstatus", want: []string{"Get-ActionStatus"}},
		"several names":   {name: []string{"Start-SecretRotation", "Close-PrivilegedEndpoint"}, want: []string{"Close-PrivilegedEndpoint", "Start-SecretRotation"}},
		"missing name":    {name: "Get-Secret", want: nil, wantError: "CommandNotFoundException"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, modes["basic over http"], tc.cfg)
			res, err := e.dial(t).Invoke(context.Background(), Call{Cmdlet: "Get-Command", Params: []Param{{Name: "Name", Value: tc.name}}})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, o := range res.Objects() {
				got = append(got, o.(map[string]any)["Name"].(string))
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("commands (-want +got):\n%s", diff)
			}
			var ids []string
			for _, er := range res.Errors {
				ids = append(ids, er.FullyQualifiedErrorId)
			}
			if tc.wantError != "" && (len(ids) != 1 || ids[0] != tc.wantError) {
				t.Errorf("errors %v, want [%s]", ids, tc.wantError)
			}
		})
	}
}

var _ = simwsman.AuthBasic
