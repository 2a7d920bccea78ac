package psrp

import (
	"fmt"
	"strings"
	"time"
)

// ErrorCategory is System.Management.Automation.ErrorCategory.
type ErrorCategory int32

// Error categories runbook and the simulated endpoint use; the numbering is
// PowerShell's.
const (
	NotSpecified        ErrorCategory = 0
	InvalidArgument     ErrorCategory = 5
	InvalidData         ErrorCategory = 6
	InvalidOperation    ErrorCategory = 7
	ObjectNotFound      ErrorCategory = 13
	OperationStopped    ErrorCategory = 14
	OperationTimeout    ErrorCategory = 15
	ParserError         ErrorCategory = 17
	PermissionDenied    ErrorCategory = 18
	ResourceUnavailable ErrorCategory = 21
	ConnectionError     ErrorCategory = 27
	AuthenticationError ErrorCategory = 28
	LimitsExceeded      ErrorCategory = 29
)

var errorCategoryNames = []string{
	"NotSpecified", "OpenError", "CloseError", "DeviceError", "DeadlockDetected", "InvalidArgument",
	"InvalidData", "InvalidOperation", "InvalidResult", "InvalidType", "MetadataError", "NotImplemented",
	"NotInstalled", "ObjectNotFound", "OperationStopped", "OperationTimeout", "SyntaxError", "ParserError",
	"PermissionDenied", "ResourceBusy", "ResourceExists", "ResourceUnavailable", "ReadError", "WriteError",
	"FromStdErr", "SecurityError", "ProtocolError", "ConnectionError", "AuthenticationError",
	"LimitsExceeded", "QuotaExceeded", "NotEnabled",
}

func (c ErrorCategory) String() string {
	if c >= 0 && int(c) < len(errorCategoryNames) {
		return errorCategoryNames[c]
	}
	return fmt.Sprintf("ErrorCategory(%d)", int32(c))
}

// ErrorRecord is the part of a PowerShell ErrorRecord (§2.2.3.15) that
// runbook reads and the simulated endpoint writes.
type ErrorRecord struct {
	// Message is what PowerShell prints: the record's ToString.
	Message string
	// FullyQualifiedErrorId identifies the error, for example
	// "ScriptsNotAllowed" or "CommandNotFoundException".
	FullyQualifiedErrorId string
	Category              ErrorCategory
	// Activity is the command that failed; Reason the short exception type
	// name; TargetName and TargetType describe the target object.
	Activity   string
	Reason     string
	TargetName string
	TargetType string
	// ExceptionType is the most derived type of the exception, without the
	// "Deserialized." prefix; ExceptionMessage its Message.
	ExceptionType    string
	ExceptionMessage string
}

// exceptionBases lists the base classes PowerShell writes for the
// exceptions the simulated endpoint raises.
var exceptionBases = map[string][]string{
	"System.Management.Automation.ParseException":            {"System.Management.Automation.RuntimeException"},
	"System.Management.Automation.CommandNotFoundException":  {"System.Management.Automation.RuntimeException"},
	"System.Management.Automation.ParameterBindingException": {"System.Management.Automation.RuntimeException"},
	"System.Management.Automation.PSInvalidOperationException": {
		"System.InvalidOperationException",
	},
	"System.Management.Automation.PipelineStoppedException": {"System.Management.Automation.RuntimeException"},
}

func exceptionTypeNames(t string) []string {
	names := []string{t}
	for cur := t; len(exceptionBases[cur]) > 0; cur = names[len(names)-1] {
		names = append(names, exceptionBases[cur]...)
	}
	return append(names, "System.SystemException", "System.Exception", "System.Object")
}

// categoryTarget shortens a long target name the way PowerShell's
// ErrorCategoryInfo does: the first and last fifteen characters around an
// ellipsis.
func categoryTarget(s string) string {
	if len(s) <= 40 {
		return s
	}
	return s[:15] + "..." + s[len(s)-15:]
}

// CategoryMessage is the ErrorCategory_Message line PowerShell shows, such
// as "ObjectNotFound: (Foo:String) [], CommandNotFoundException".
func (e ErrorRecord) CategoryMessage() string {
	return fmt.Sprintf("%s: (%s:%s) [%s], %s", e.Category, categoryTarget(e.TargetName), e.TargetType, e.Activity, e.Reason)
}

func (e ErrorRecord) exceptionType() string {
	if e.ExceptionType != "" {
		return e.ExceptionType
	}
	return "System.Management.Automation.RuntimeException"
}

// Object returns e in its serialized form, as in a PIPELINE_STATE or
// RUNSPACEPOOL_STATE message.
func (e ErrorRecord) Object() *Object {
	et := e.exceptionType()
	msg := e.ExceptionMessage
	if msg == "" {
		msg = e.Message
	}
	exc := &Object{
		TypeNames: exceptionTypeNames(et),
		ToString:  et + ": " + msg,
		Props: []Property{
			{"Message", msg},
			{"Data", &Object{TypeNames: []string{"System.Collections.ListDictionaryInternal", "System.Object"}, Dict: []DictEntry{}}},
			{"InnerException", nil},
			{"Source", "System.Management.Automation"},
		},
	}
	var target any
	if e.TargetName != "" {
		target = e.TargetName
	}
	return &Object{
		TypeNames: []string{"System.Management.Automation.ErrorRecord", "System.Object"},
		ToString:  e.Message,
		Members: []Property{
			{"Exception", exc},
			{"TargetObject", target},
			{"FullyQualifiedErrorId", e.FullyQualifiedErrorId},
			{"InvocationInfo", nil},
			{"ErrorCategory_Category", int32(e.Category)},
			{"ErrorCategory_Activity", e.Activity},
			{"ErrorCategory_Reason", e.Reason},
			{"ErrorCategory_TargetName", e.TargetName},
			{"ErrorCategory_TargetType", e.TargetType},
			{"ErrorCategory_Message", e.CategoryMessage()},
			{"SerializeExtendedInfo", false},
		},
	}
}

// StreamObject returns e as the content of an ERROR_RECORD message: a
// non-terminating error written to the error stream.
func (e ErrorRecord) StreamObject() *Object {
	o := e.Object()
	o.Members = append([]Property{{"writeErrorStream", true}}, o.Members...)
	return o
}

// ParseErrorRecord reads a serialized ErrorRecord. Fields the object lacks
// stay empty; a record is never rejected, since an error about an error
// would hide the first.
func ParseErrorRecord(o *Object) ErrorRecord {
	e := ErrorRecord{
		Message:               o.ToString,
		FullyQualifiedErrorId: o.String("FullyQualifiedErrorId"),
		Activity:              o.String("ErrorCategory_Activity"),
		Reason:                o.String("ErrorCategory_Reason"),
		TargetName:            o.String("ErrorCategory_TargetName"),
		TargetType:            o.String("ErrorCategory_TargetType"),
	}
	if n, ok := o.Int("ErrorCategory_Category"); ok {
		e.Category = ErrorCategory(n)
	}
	if exc := o.Obj("Exception"); exc != nil {
		if len(exc.TypeNames) > 0 {
			e.ExceptionType = strings.TrimPrefix(exc.TypeNames[0], "Deserialized.")
		}
		e.ExceptionMessage = exc.String("Message")
	}
	if d := o.String("ErrorDetails_Message"); d != "" {
		e.Message = d
	}
	if e.Message == "" {
		e.Message = e.ExceptionMessage
	}
	return e
}

// ProgressRecord is the content of PROGRESS_RECORD (§2.2.2.25).
type ProgressRecord struct {
	Activity          string
	ActivityID        int32
	StatusDescription string
	CurrentOperation  string
	ParentActivityID  int32
	PercentComplete   int32
	SecondsRemaining  int32
	// Completed is true for the record that ends an activity
	// (ProgressRecordType Completed).
	Completed bool
}

// Object returns p in its serialized form.
func (p ProgressRecord) Object() *Object {
	typ := Enum("System.Management.Automation.ProgressRecordType", "Processing", 0)
	if p.Completed {
		typ = Enum("System.Management.Automation.ProgressRecordType", "Completed", 1)
	}
	var op any
	if p.CurrentOperation != "" {
		op = p.CurrentOperation
	}
	return &Object{Members: []Property{
		{"Activity", p.Activity},
		{"ActivityId", p.ActivityID},
		{"CurrentOperation", op},
		{"ParentActivityId", p.ParentActivityID},
		{"PercentComplete", p.PercentComplete},
		{"Type", typ},
		{"SecondsRemaining", p.SecondsRemaining},
		{"StatusDescription", p.StatusDescription},
	}}
}

// ParseProgressRecord reads a PROGRESS_RECORD message's data.
func ParseProgressRecord(v any) ProgressRecord {
	o, _ := v.(*Object)
	p := ProgressRecord{
		Activity:          o.String("Activity"),
		StatusDescription: o.String("StatusDescription"),
		CurrentOperation:  o.String("CurrentOperation"),
	}
	n, _ := o.Int("ActivityId")
	p.ActivityID = int32(n)
	n, _ = o.Int("ParentActivityId")
	p.ParentActivityID = int32(n)
	n, _ = o.Int("PercentComplete")
	p.PercentComplete = int32(n)
	n, _ = o.Int("SecondsRemaining")
	p.SecondsRemaining = int32(n)
	if t, ok := o.Int("Type"); ok {
		p.Completed = t == 1
	}
	return p
}

// InformationalRecordObject returns a warning, verbose or debug record
// of the given type, for example
// "System.Management.Automation.WarningRecord".
func InformationalRecordObject(typeName, message string) *Object {
	return &Object{
		TypeNames: []string{typeName, "System.Management.Automation.InformationalRecord", "System.Object"},
		ToString:  message,
		Members: []Property{
			{"InformationalRecord_Message", message},
			{"InformationalRecord_SerializeInvocationInfo", false},
		},
	}
}

// ParseInformationalRecord returns the message of a WARNING_RECORD,
// VERBOSE_RECORD or DEBUG_RECORD.
func ParseInformationalRecord(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case *Object:
		if m := x.String("InformationalRecord_Message"); m != "" {
			return m
		}
		return x.ToString
	}
	return ""
}

// InformationRecord is the content of an INFORMATION_RECORD (§2.2.2.26,
// §2.2.5.1.26) as a Windows PowerShell 5.1 server writes it: every property
// below is on the wire, and clients such as pypsrp refuse a record that lacks
// one of them.
type InformationRecord struct {
	// MessageData is the message: a string, as Write-Information writes it.
	MessageData any
	// Source is the command that wrote the record.
	Source        string
	TimeGenerated time.Time
	Tags          []string
	// User is the account the command ran as; Computer the host's name.
	User, Computer string
	ProcessID      uint32
	// NativeThreadID and ManagedThreadID name the writing thread.
	NativeThreadID, ManagedThreadID uint32
}

// Object returns r in its serialized form.
func (r InformationRecord) Object() *Object {
	tags := make([]any, len(r.Tags))
	for i, t := range r.Tags {
		tags[i] = t
	}
	o := &Object{
		TypeNames: []string{"System.Management.Automation.InformationRecord", "System.Object"},
		Members: []Property{
			{"MessageData", r.MessageData},
			{"Source", r.Source},
			{"TimeGenerated", r.TimeGenerated},
			{"Tags", &Object{TypeNames: []string{"System.Collections.Generic.List`1[[System.String, mscorlib, Version=4.0.0.0, Culture=neutral, PublicKeyToken=b77a5c561934e089]]", "System.Object"}, ListTag: "LST", List: tags}},
			{"User", r.User},
			{"Computer", r.Computer},
			{"ProcessId", r.ProcessID},
			{"NativeThreadId", r.NativeThreadID},
			{"ManagedThreadId", r.ManagedThreadID},
		},
	}
	if s, ok := r.MessageData.(string); ok {
		o.ToString = s
	}
	return o
}

// ParseInformationRecord returns the message of an INFORMATION_RECORD: the
// MessageData when it is a string, else the data's text (a Write-Host
// HostInformationMessage carries it as Message or ToString).
func ParseInformationRecord(v any) string {
	o, _ := v.(*Object)
	if o == nil {
		s, _ := v.(string)
		return s
	}
	switch d := func() any { x, _ := o.Get("MessageData"); return x }().(type) {
	case string:
		return d
	case *Object:
		if m := d.String("Message"); m != "" {
			return m
		}
		return d.ToString
	}
	return o.ToString
}
