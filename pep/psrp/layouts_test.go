package psrp

import (
	"fmt"
	"testing"
	"time"
)

// The object layouts of the record messages, property by property, as
// [MS-PSRP] lists them: a property a section calls mandatory must be on the
// wire with its element type, or a strict client (pypsrp) refuses the whole
// message. The kinds name the CLIXML element each property is written as.
type layoutProp struct {
	name string
	kind string // "S", "B", "I32", "U32", "DT", "Obj", "S|Nil", "any"
}

var recordLayouts = map[string]struct {
	section string
	obj     *Object
	props   []layoutProp
}{
	"INFORMATION_RECORD": {
		section: "2.2.5.1.26",
		obj: InformationRecord{
			MessageData: "Action plan finished with status: 'Completed'", Source: "Set-BmcCredential",
			TimeGenerated: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
			User:          `AZURESTACK\CloudAdmin`, Computer: "AZS-ERCS01", ProcessID: 4712, NativeThreadID: 5236, ManagedThreadID: 31,
		}.Object(),
		props: []layoutProp{
			{"MessageData", "any"}, {"Source", "S"}, {"TimeGenerated", "DT"}, {"Tags", "Obj"},
			{"User", "S"}, {"Computer", "S"}, {"ProcessId", "U32"}, {"NativeThreadId", "U32"}, {"ManagedThreadId", "U32"},
		},
	},
	"ERROR_RECORD": {
		section: "2.2.3.15",
		obj: ErrorRecord{
			Message: "The term 'Get-Foo' is not recognized", FullyQualifiedErrorId: "CommandNotFoundException",
			Category: ObjectNotFound, Reason: "CommandNotFoundException", TargetName: "Get-Foo", TargetType: "String",
		}.StreamObject(),
		props: []layoutProp{
			{"Exception", "Obj"}, {"TargetObject", "any"}, {"FullyQualifiedErrorId", "S"}, {"InvocationInfo", "any"},
			{"ErrorCategory_Category", "I32"}, {"ErrorCategory_Activity", "S|Nil"}, {"ErrorCategory_Reason", "S|Nil"},
			{"ErrorCategory_TargetName", "S|Nil"}, {"ErrorCategory_TargetType", "S|Nil"}, {"ErrorCategory_Message", "S|Nil"},
			{"SerializeExtendedInfo", "B"},
		},
	},
	"PROGRESS_RECORD": {
		section: "2.2.2.25",
		obj:     ProgressRecord{Activity: "Set-BmcCredential", StatusDescription: "Updating", ParentActivityID: -1, PercentComplete: 50, SecondsRemaining: -1}.Object(),
		props: []layoutProp{
			{"Activity", "S"}, {"ActivityId", "I32"}, {"StatusDescription", "S"}, {"CurrentOperation", "S|Nil"},
			{"ParentActivityId", "I32"}, {"PercentComplete", "I32"}, {"Type", "Obj"}, {"SecondsRemaining", "I32"},
		},
	},
	"WARNING_RECORD": {
		section: "2.2.3.16",
		obj:     InformationalRecordObject("System.Management.Automation.WarningRecord", "careful"),
		props:   []layoutProp{{"InformationalRecord_Message", "S"}, {"InformationalRecord_SerializeInvocationInfo", "B"}},
	},
	"VERBOSE_RECORD": {
		section: "2.2.3.16",
		obj:     InformationalRecordObject("System.Management.Automation.VerboseRecord", "details"),
		props:   []layoutProp{{"InformationalRecord_Message", "S"}, {"InformationalRecord_SerializeInvocationInfo", "B"}},
	},
	"DEBUG_RECORD": {
		section: "2.2.3.16",
		obj:     InformationalRecordObject("System.Management.Automation.DebugRecord", "trace"),
		props:   []layoutProp{{"InformationalRecord_Message", "S"}, {"InformationalRecord_SerializeInvocationInfo", "B"}},
	},
}

func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "Nil"
	case string:
		return "S"
	case bool:
		return "B"
	case int32:
		return "I32"
	case uint32:
		return "U32"
	case time.Time:
		return "DT"
	case *Object:
		return "Obj"
	}
	return fmt.Sprintf("%T", v)
}

func TestRecordLayouts(t *testing.T) {
	for name, tc := range recordLayouts {
		o := roundTrip(t, tc.obj).(*Object)
		for _, p := range tc.props {
			v, ok := o.Get(p.name)
			if !ok {
				t.Errorf("%s (§%s): mandatory property %s is missing", name, tc.section, p.name)
				continue
			}
			got := kindOf(v)
			switch p.kind {
			case "any":
			case "S|Nil":
				if got != "S" && got != "Nil" {
					t.Errorf("%s (§%s): %s is <%s>, want <S> or <Nil>", name, tc.section, p.name, got)
				}
			default:
				if got != p.kind {
					t.Errorf("%s (§%s): %s is <%s>, want <%s>", name, tc.section, p.name, got, p.kind)
				}
			}
		}
	}
}
