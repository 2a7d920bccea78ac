package psrp

import (
	"errors"
	"fmt"
)

// Command is one command of a pipeline (§2.2.3.12). runbook sends exactly
// one command with IsScript false, so that a constrained endpoint binds its
// named parameters itself and never parses script text.
type Command struct {
	Cmd      string
	IsScript bool
	Args     []Argument
	// EndOfStatement is true when the command ends a statement and another
	// statement follows ("a | b; c" sets it on b): statements travel as
	// ExtraCmds, pipelines within one statement as Cmds.
	EndOfStatement bool
}

// Argument is one parameter of a command (§2.2.3.13). An empty Name is a
// positional argument. A switch parameter is sent as Value true.
type Argument struct {
	Name  string
	Value any
}

// CreatePipeline is the content of CREATE_PIPELINE (§2.2.2.10).
type CreatePipeline struct {
	Commands []Command
	// NoInput is true when the pipeline takes no PIPELINE_INPUT.
	NoInput bool
	// AddToHistory is passed to the higher layer.
	AddToHistory bool
}

// listOfPSObject is the type name PowerShell gives the Cmds and Args lists.
var listOfPSObject = []string{
	"System.Collections.Generic.List`1[[System.Management.Automation.PSObject, System.Management.Automation, Version=1.0.0.0, Culture=neutral, PublicKeyToken=31bf3856ad364e35]]",
	"System.Object",
}

func mergeNone() *Object { return Enum(TypePipelineResultTypes, "None", 0) }

// Object returns p in its serialized form, property for property as
// PowerShell 5.1 writes it (MergeMyResult and MergeToResult carry those
// singular names on the wire, although the specification's prose says
// MergeMyResults).
func (p CreatePipeline) Object() *Object {
	statements := p.statements()
	var extra any
	if len(statements) > 1 {
		// §2.2.3.11 as PowerShell writes it: ExtraCmds lists every
		// statement, the first included, and Cmds repeats the first.
		list := make([]any, 0, len(statements))
		for _, st := range statements {
			list = append(list, &Object{Members: []Property{{"Cmds", commandList(st)}}})
		}
		extra = &Object{TypeNames: listOfPSObject, ListTag: "LST", List: list}
	}
	var first []Command
	if len(statements) > 0 {
		first = statements[0]
	}
	return &Object{Members: []Property{
		{"NoInput", p.NoInput},
		{"ApartmentState", Enum(TypeApartmentState, "Unknown", 2)},
		{"RemoteStreamOptions", Enum(TypeRemoteStreamOptions, "AddInvocationInfo", 15)},
		{"AddToHistory", p.AddToHistory},
		{"HostInfo", HostInfo()},
		{"PowerShell", &Object{Members: []Property{
			{"IsNested", false},
			{"ExtraCmds", extra},
			{"Cmds", commandList(first)},
			{"History", nil},
			{"RedirectShellErrorOutputPipe", false},
		}}},
		{"IsNested", false},
	}}
}

// statements splits the commands at EndOfStatement.
func (p CreatePipeline) statements() [][]Command {
	var out [][]Command
	var cur []Command
	for _, c := range p.Commands {
		cur = append(cur, c)
		if c.EndOfStatement {
			out = append(out, cur)
			cur = nil
		}
	}
	if len(cur) > 0 || len(out) == 0 {
		out = append(out, cur)
	}
	return out
}

// commandList serializes the commands of one statement.
func commandList(st []Command) *Object {
	cmds := make([]any, 0, len(st))
	for _, c := range st {
		args := make([]any, 0, len(c.Args))
		for _, a := range c.Args {
			var name any
			if a.Name != "" {
				name = a.Name
			}
			args = append(args, &Object{Members: []Property{{"N", name}, {"V", a.Value}}})
		}
		cmds = append(cmds, &Object{Members: []Property{
			{"Cmd", c.Cmd},
			{"IsScript", c.IsScript},
			{"UseLocalScope", nil},
			{"MergeMyResult", mergeNone()},
			{"MergeToResult", mergeNone()},
			{"MergePreviousResults", mergeNone()},
			{"Args", &Object{TypeNames: listOfPSObject, ListTag: "LST", List: args}},
			{"MergeError", mergeNone()},
			{"MergeWarning", mergeNone()},
			{"MergeVerbose", mergeNone()},
			{"MergeDebug", mergeNone()},
			{"MergeInformation", mergeNone()},
		}})
	}
	return &Object{TypeNames: listOfPSObject, ListTag: "LST", List: cmds}
}

// ParseCreatePipeline reads a CREATE_PIPELINE message's data. A PowerShell
// with several statements (protocol 2.2+) lists all of them in ExtraCmds,
// the first included, and repeats the first in Cmds; ExtraCmds then is the
// whole pipeline and Cmds is not read again. Without ExtraCmds, Cmds is the
// one statement. Every command but the last of a statement followed by
// another has EndOfStatement set, so a server sees each command once and in
// order.
func ParseCreatePipeline(v any) (CreatePipeline, error) {
	o, ok := v.(*Object)
	if !ok {
		return CreatePipeline{}, errors.New("psrp: CREATE_PIPELINE is not an object")
	}
	ps := o.Obj("PowerShell")
	if ps == nil {
		return CreatePipeline{}, errors.New("psrp: CREATE_PIPELINE without a PowerShell property")
	}
	p := CreatePipeline{NoInput: o.Bool("NoInput"), AddToHistory: o.Bool("AddToHistory")}
	extra := ps.Obj("ExtraCmds")
	if extra == nil || len(extra.List) == 0 {
		cmds, err := parseCommands(ps.Obj("Cmds"))
		p.Commands = cmds
		return p, err
	}
	for i, st := range extra.List {
		so, ok := st.(*Object)
		if !ok {
			return p, fmt.Errorf("psrp: CREATE_PIPELINE statement %d is not an object", i)
		}
		cmds, err := parseCommands(so.Obj("Cmds"))
		if err != nil {
			return p, err
		}
		if len(cmds) == 0 {
			return p, fmt.Errorf("psrp: CREATE_PIPELINE statement %d has no command", i)
		}
		if i < len(extra.List)-1 {
			cmds[len(cmds)-1].EndOfStatement = true
		}
		p.Commands = append(p.Commands, cmds...)
	}
	return p, nil
}

func parseCommands(list *Object) ([]Command, error) {
	if list == nil {
		return nil, errors.New("psrp: CREATE_PIPELINE without Cmds")
	}
	var out []Command
	for i, item := range list.List {
		co, ok := item.(*Object)
		if !ok {
			return nil, fmt.Errorf("psrp: CREATE_PIPELINE command %d is not an object", i)
		}
		c := Command{Cmd: co.String("Cmd"), IsScript: co.Bool("IsScript")}
		if args := co.Obj("Args"); args != nil {
			for j, a := range args.List {
				ao, ok := a.(*Object)
				if !ok {
					return nil, fmt.Errorf("psrp: CREATE_PIPELINE command %d argument %d is not an object", i, j)
				}
				n, _ := ao.Get("N")
				name, _ := n.(string)
				val, _ := ao.Get("V")
				c.Args = append(c.Args, Argument{Name: name, Value: val})
			}
		}
		out = append(out, c)
	}
	return out, nil
}

// InvocationState is the state of a pipeline, PSInvocationState
// (§2.2.3.5).
type InvocationState int32

// Pipeline states.
const (
	NotStarted InvocationState = iota
	Running
	Stopping
	Stopped
	Completed
	Failed
	Disconnected
)

var invocationStateNames = []string{"NotStarted", "Running", "Stopping", "Stopped", "Completed", "Failed", "Disconnected"}

func (s InvocationState) String() string {
	if s >= 0 && int(s) < len(invocationStateNames) {
		return invocationStateNames[s]
	}
	return fmt.Sprintf("InvocationState(%d)", int32(s))
}

// Terminal reports whether the pipeline has finished.
func (s InvocationState) Terminal() bool { return s == Stopped || s == Completed || s == Failed }

// PipelineState is the content of PIPELINE_STATE (§2.2.2.21).
type PipelineState struct {
	State InvocationState
	// Error is the terminating error of a Failed or Stopped pipeline.
	Error *ErrorRecord
}

// Object returns s in its serialized form.
func (s PipelineState) Object() *Object {
	o := &Object{Members: []Property{{"PipelineState", int32(s.State)}}}
	if s.Error != nil {
		o.Members = append(o.Members, Property{"ExceptionAsErrorRecord", s.Error.Object()})
	}
	return o
}

// ParsePipelineState reads a PIPELINE_STATE message's data.
func ParsePipelineState(v any) (PipelineState, error) {
	o, ok := v.(*Object)
	if !ok {
		return PipelineState{}, errors.New("psrp: PIPELINE_STATE is not an object")
	}
	n, ok := o.Int("PipelineState")
	if !ok {
		return PipelineState{}, errors.New("psrp: PIPELINE_STATE without a PipelineState")
	}
	s := PipelineState{State: InvocationState(n)}
	if e := o.Obj("ExceptionAsErrorRecord"); e != nil {
		er := ParseErrorRecord(e)
		s.Error = &er
	}
	return s, nil
}
