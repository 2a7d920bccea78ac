package psrp

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// roundTrip serializes v and reads it back, as the other side would.
func roundTrip(t *testing.T, v any) any {
	t.Helper()
	b, err := Marshal(v, nil)
	if err != nil {
		t.Fatal(err)
	}
	out, err := Unmarshal(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestCreatePipelineRoundTrip(t *testing.T) {
	want := CreatePipeline{NoInput: true, Commands: []Command{{
		Cmd: "Set-BmcCredential",
		Args: []Argument{
			{Name: "BmcUser", Value: "root"},
			{Name: "BypassBMCUpdate", Value: true},
			{Value: int32(3)}, // positional
		},
	}}}
	got, err := ParseCreatePipeline(roundTrip(t, want.Object()))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestCreatePipelineExtraCmds(t *testing.T) {
	// "Get-Command -Name x | Select-Object; Remove-Item" as PowerShell and
	// pypsrp write it (§2.2.3.11): ExtraCmds lists every statement, the
	// first included, and Cmds repeats the first statement.
	stmt := func(cmds ...Command) *Object {
		return CreatePipeline{Commands: cmds}.Object().Obj("PowerShell").Obj("Cmds")
	}
	first := stmt(Command{Cmd: "Get-Command", Args: []Argument{{Name: "Name", Value: "x"}}}, Command{Cmd: "Select-Object"})
	second := stmt(Command{Cmd: "Remove-Item"})
	windows := CreatePipeline{}.Object()
	windows.Obj("PowerShell").Set("Cmds", first).Set("ExtraCmds", &Object{ListTag: "LST", List: []any{
		&Object{Members: []Property{{"Cmds", first}}},
		&Object{Members: []Property{{"Cmds", second}}},
	}})
	want := CreatePipeline{Commands: []Command{
		{Cmd: "Get-Command", Args: []Argument{{Name: "Name", Value: "x"}}},
		{Cmd: "Select-Object", EndOfStatement: true},
		{Cmd: "Remove-Item"},
	}}
	tests := map[string]*Object{
		"as Windows sends it": windows,
		"our encoding":        want.Object(),
	}
	for name, o := range tests {
		got, err := ParseCreatePipeline(roundTrip(t, o))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
	// One statement: no ExtraCmds on the wire, as PowerShell writes it.
	one := CreatePipeline{Commands: []Command{{Cmd: "Get-Command"}}}.Object()
	if v, _ := one.Obj("PowerShell").Get("ExtraCmds"); v != nil {
		t.Errorf("ExtraCmds = %v for one statement, want <Nil>", v)
	}
}

func TestErrorRecordRoundTrip(t *testing.T) {
	want := ErrorRecord{
		Message:               "The term 'Get-Foo' is not recognized as the name of a cmdlet.",
		FullyQualifiedErrorId: "CommandNotFoundException",
		Category:              ObjectNotFound,
		Activity:              "",
		Reason:                "CommandNotFoundException",
		TargetName:            "Get-Foo",
		TargetType:            "String",
		ExceptionType:         "System.Management.Automation.CommandNotFoundException",
		ExceptionMessage:      "The term 'Get-Foo' is not recognized as the name of a cmdlet.",
	}
	for name, o := range map[string]*Object{"terminating": want.Object(), "error stream": want.StreamObject()} {
		got := ParseErrorRecord(roundTrip(t, o).(*Object))
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
	o := roundTrip(t, want.Object()).(*Object)
	if got := o.String("ErrorCategory_Message"); got != "ObjectNotFound: (Get-Foo:String) [], CommandNotFoundException" {
		t.Errorf("ErrorCategory_Message %q", got)
	}
	exc := o.Obj("Exception")
	if diff := cmp.Diff([]string{
		"System.Management.Automation.CommandNotFoundException", "System.Management.Automation.RuntimeException",
		"System.SystemException", "System.Exception", "System.Object",
	}, exc.TypeNames); diff != "" {
		t.Errorf("exception types (-want +got):\n%s", diff)
	}
}

func TestErrorRecordDetailsWin(t *testing.T) {
	o := &Object{ToString: "plain", Members: []Property{{"ErrorDetails_Message", "detailed"}, {"FullyQualifiedErrorId", "X"}}}
	if got := ParseErrorRecord(o).Message; got != "detailed" {
		t.Errorf("Message %q, want ErrorDetails_Message", got)
	}
	if got := ParseErrorRecord(&Object{Members: []Property{{"Exception", &Object{Props: []Property{{"Message", "from exception"}}}}}}).Message; got != "from exception" {
		t.Errorf("Message %q, want the exception's", got)
	}
}

func TestCategoryTargetShortened(t *testing.T) {
	e := ErrorRecord{Category: ParserError, TargetName: "Set-Item -Path WSMan:\\localhost\\Service\\AllowUnencrypted -Value $false", TargetType: "String", Reason: "ParseException"}
	// The shape a real endpoint gives (first and last fifteen characters).
	if got, want := e.CategoryMessage(), "ParserError: (Set-Item -Path ...d -Value $false:String) [], ParseException"; got != want {
		t.Errorf("%q, want %q", got, want)
	}
}

func TestStateMessagesRoundTrip(t *testing.T) {
	er := &ErrorRecord{Message: "stopped", FullyQualifiedErrorId: "PipelineStopped", Category: OperationStopped, Reason: "PipelineStoppedException", ExceptionType: "System.Management.Automation.PipelineStoppedException", ExceptionMessage: "stopped"}
	ps, err := ParsePipelineState(roundTrip(t, PipelineState{State: Stopped, Error: er}.Object()))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(PipelineState{State: Stopped, Error: er}, ps); diff != "" {
		t.Errorf("pipeline state (-want +got):\n%s", diff)
	}
	pool, err := ParsePoolState(roundTrip(t, PoolState{State: PoolBroken, Error: er}.Object()))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(PoolState{State: PoolBroken, Error: er}, pool); diff != "" {
		t.Errorf("pool state (-want +got):\n%s", diff)
	}
	if !Stopped.Terminal() || Running.Terminal() || Completed.String() != "Completed" || PoolOpened.String() != "Opened" {
		t.Error("state helpers")
	}
}

func TestRecordsRoundTrip(t *testing.T) {
	p := ProgressRecord{Activity: "Rotate", ActivityID: 2, StatusDescription: "Step 1", CurrentOperation: "op", ParentActivityID: -1, PercentComplete: 25, SecondsRemaining: 60, Completed: true}
	if diff := cmp.Diff(p, ParseProgressRecord(roundTrip(t, p.Object()))); diff != "" {
		t.Errorf("progress (-want +got):\n%s", diff)
	}
	if got := ParseInformationalRecord(roundTrip(t, InformationalRecordObject("System.Management.Automation.WarningRecord", "careful"))); got != "careful" {
		t.Errorf("warning %q", got)
	}
	if got := ParseInformationRecord(roundTrip(t, InformationRecord{MessageData: "hello", Source: "Start-SecretRotation"}.Object())); got != "hello" {
		t.Errorf("information %q", got)
	}
	hostMsg := &Object{Members: []Property{{"MessageData", &Object{ToString: "from Write-Host", Props: []Property{{"Message", "from Write-Host"}}}}}}
	if got := ParseInformationRecord(roundTrip(t, hostMsg)); got != "from Write-Host" {
		t.Errorf("host information %q", got)
	}
}

func TestInitPoolRoundTrip(t *testing.T) {
	want := InitPool{MinRunspaces: 1, MaxRunspaces: 2, ApplicationArguments: []DictEntry{{"Purpose", "rotation"}}}
	got, err := ParseInitPool(roundTrip(t, want.Object()))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if _, err := ParseInitPool(roundTrip(t, InitPool{MinRunspaces: 2, MaxRunspaces: 1}.Object())); err == nil {
		t.Error("accepted MaxRunspaces below MinRunspaces")
	}
}

func TestParsersRejectNonObjects(t *testing.T) {
	for name, f := range map[string]func(any) error{
		"capability":      func(v any) error { _, err := ParseCapability(v); return err },
		"init pool":       func(v any) error { _, err := ParseInitPool(v); return err },
		"pool state":      func(v any) error { _, err := ParsePoolState(v); return err },
		"create pipeline": func(v any) error { _, err := ParseCreatePipeline(v); return err },
		"pipeline state":  func(v any) error { _, err := ParsePipelineState(v); return err },
		"key blob":        func(v any) error { _, err := ParseKeyBlob(v, "PublicKey"); return err },
	} {
		for _, v := range []any{"text", nil, &Object{}} {
			if err := f(v); err == nil {
				t.Errorf("%s accepted %#v", name, v)
			}
		}
	}
}
