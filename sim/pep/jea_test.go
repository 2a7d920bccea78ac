package pep

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/runbook-dev/runbook/pep/psrp"
)

func TestJEARejectsScript(t *testing.T) {
	tests := map[string]psrp.CreatePipeline{
		"script text":                   {Commands: []psrp.Command{{Cmd: "Set-BmcCredential -BmcPassword (ConvertTo-SecureString 'x' -AsPlainText -Force)", IsScript: true}}},
		"script flag on a command name": {Commands: []psrp.Command{{Cmd: "Get-Command", IsScript: true}}},
		"variable as a command":         command("$ExecutionContext"),
		"statements in a name":          command("Get-Command; whoami"),
		"two commands":                  {Commands: []psrp.Command{{Cmd: "Get-Command"}, {Cmd: "Select-Object"}}},
		"no command":                    {Commands: []psrp.Command{}},
	}
	for name, cp := range tests {
		t.Run(name, func(t *testing.T) {
			ep, r := startRaw(t, Config{})
			res := r.run(cp)
			if res.state.State != psrp.Failed || res.state.Error == nil {
				t.Fatalf("pipeline %v, want Failed with an error", res.state.State)
			}
			got := *res.state.Error
			want := psrp.ErrorRecord{
				Message:               "The syntax is not supported by this runspace. This can occur if the runspace is in no-language mode.",
				FullyQualifiedErrorId: "ScriptsNotAllowed",
				Category:              psrp.ParserError,
				Reason:                "ParseException",
				TargetName:            got.TargetName,
				TargetType:            "String",
				ExceptionType:         "System.Management.Automation.ParseException",
				ExceptionMessage:      got.Message,
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("error record (-want +got):\n%s", diff)
			}
			tr := ep.Transcript()
			if len(tr) != 1 || tr[0].Outcome != "Failed: ScriptsNotAllowed" {
				t.Errorf("transcript %+v, want the rejected script recorded", tr)
			}
		})
	}
}

func TestJEACommandNotFound(t *testing.T) {
	_, r := startRaw(t, Config{})
	res := r.run(command("Invoke-Expression", psrp.Argument{Name: "Command", Value: "whoami"}))
	if res.state.State != psrp.Failed || res.state.Error.FullyQualifiedErrorId != "CommandNotFoundException" || res.state.Error.Category != psrp.ObjectNotFound {
		t.Fatalf("state %v, error %+v; want CommandNotFoundException", res.state.State, res.state.Error)
	}
	if !strings.HasPrefix(res.state.Error.Message, "The term 'Invoke-Expression' is not recognized") {
		t.Errorf("message %q", res.state.Error.Message)
	}
}

func TestParameterBinding(t *testing.T) {
	tests := map[string]struct {
		keyExchange bool
		cp          psrp.CreatePipeline
		wantFQID    string
	}{
		"positional argument": {
			cp:       command("Get-Command", psrp.Argument{Value: "Set-BmcCredential"}),
			wantFQID: "PositionalParameterNotFound,Get-Command",
		},
		"parameter twice": {
			cp:       command("Get-ActionStatus", psrp.Argument{Name: "FunctionName", Value: "a"}, psrp.Argument{Name: "functionname", Value: "b"}),
			wantFQID: "ParameterAlreadyBound,Get-ActionStatus",
		},
		"dash in the name is accepted": {
			cp: command("Get-ActionStatus", psrp.Argument{Name: "-FunctionName", Value: "Start-SecretRotation"}),
		},
		"credential as a string": {
			cp: command("Close-PrivilegedEndpoint",
				psrp.Argument{Name: "TranscriptsPathDestination", Value: `\\10.0.0.5\t`},
				psrp.Argument{Name: "Credential", Value: `CONTOSO\user`}),
			wantFQID: "ParameterArgumentTransformationError,Close-PrivilegedEndpoint",
		},
		"secure string the PEP cannot decrypt": {
			cp:       command("Set-BmcCredential", psrp.Argument{Name: "BmcPassword", Value: undecryptable(t)}),
			wantFQID: "ParameterArgumentTransformationError,Set-BmcCredential",
		},
		"secure string after the key exchange": {
			keyExchange: true,
			cp:          command("Set-BmcCredential", psrp.Argument{Name: "BmcPassword", Value: psrp.NewSecureString("Raw-Bmc-Pw-42")}),
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ep, r := startRaw(t, Config{BMCUpdateTime: 1})
			if tc.keyExchange {
				r.exchangeKeys()
			}
			res := r.run(tc.cp)
			switch {
			case tc.wantFQID == "" && res.state.State != psrp.Completed:
				t.Fatalf("pipeline %v: %+v", res.state.State, res.state.Error)
			case tc.wantFQID != "" && (res.state.Error == nil || res.state.Error.FullyQualifiedErrorId != tc.wantFQID):
				t.Fatalf("pipeline %v, error %+v; want %s", res.state.State, res.state.Error, tc.wantFQID)
			}
			if tc.keyExchange && !ep.BMCPasswordMatches("AzS-Node01", "Raw-Bmc-Pw-42") {
				t.Error("the decrypted password did not reach the BMC")
			}
		})
	}
}

// undecryptable is a SecureString encrypted with a key no PEP holds: what
// arrives when a client skips the key exchange.
func undecryptable(t *testing.T) psrp.SecureString {
	k, err := psrp.NewSessionKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := psrp.Marshal(psrp.NewSecureString("whatever"), k)
	if err != nil {
		t.Fatal(err)
	}
	v, err := psrp.Unmarshal(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	return v.(psrp.SecureString)
}

func TestGetCommandSyntax(t *testing.T) {
	_, r := startRaw(t, Config{})
	res := r.run(command("Get-Command", psrp.Argument{Name: "Name", Value: "Set-BmcCredential"}, psrp.Argument{Name: "Syntax", Value: true}))
	want := []any{"\r\nSet-BmcCredential -BmcPassword <Security.SecureString> [-BmcUser <String>] [-BypassBMCUpdate] [<CommonParameters>]\r\n"}
	if diff := cmp.Diff(want, res.output); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
