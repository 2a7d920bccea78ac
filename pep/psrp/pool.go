package psrp

import (
	"encoding/base64"
	"errors"
	"fmt"
)

// ProtocolVersion is the PSRP version runbook speaks: 2.3, that of
// PowerShell 5.1, which the Azure Stack Hub ERCS VMs run.
const ProtocolVersion Version = "2.3"

// Capability is the content of a SESSION_CAPABILITY message (§2.2.2.1),
// the first message each side sends.
type Capability struct {
	ProtocolVersion      Version
	PSVersion            Version
	SerializationVersion Version
}

// DefaultCapability is what runbook announces as a client.
var DefaultCapability = Capability{ProtocolVersion: ProtocolVersion, PSVersion: "2.0", SerializationVersion: "1.1.0.1"}

// Object returns c in its serialized form. TimeZone is omitted, as the
// specification allows.
func (c Capability) Object() *Object {
	return &Object{Members: []Property{
		{"protocolversion", c.ProtocolVersion},
		{"PSVersion", c.PSVersion},
		{"SerializationVersion", c.SerializationVersion},
	}}
}

// ParseCapability reads a SESSION_CAPABILITY message's data.
func ParseCapability(v any) (Capability, error) {
	o, ok := v.(*Object)
	if !ok {
		return Capability{}, errors.New("psrp: SESSION_CAPABILITY is not an object")
	}
	get := func(name string) Version {
		x, _ := o.Get(name)
		ver, _ := x.(Version)
		return ver
	}
	c := Capability{ProtocolVersion: get("protocolversion"), PSVersion: get("PSVersion"), SerializationVersion: get("SerializationVersion")}
	if c.ProtocolVersion == "" {
		return c, errors.New("psrp: SESSION_CAPABILITY without a protocolversion")
	}
	return c, nil
}

// RunspacePoolState is the state of a RunspacePool (§2.2.3.4).
type RunspacePoolState int32

// RunspacePool states.
const (
	PoolBeforeOpen RunspacePoolState = iota
	PoolOpening
	PoolOpened
	PoolClosed
	PoolClosing
	PoolBroken
	PoolNegotiationSent
	PoolNegotiationSucceeded
	PoolConnecting
	PoolDisconnected
)

var poolStateNames = []string{"BeforeOpen", "Opening", "Opened", "Closed", "Closing", "Broken", "NegotiationSent", "NegotiationSucceeded", "Connecting", "Disconnected"}

func (s RunspacePoolState) String() string {
	if s >= 0 && int(s) < len(poolStateNames) {
		return poolStateNames[s]
	}
	return fmt.Sprintf("RunspacePoolState(%d)", int32(s))
}

// HostInfo is the host description sent with INIT_RUNSPACEPOOL and
// CREATE_PIPELINE (§2.2.3.14). runbook has no interactive host: every flag
// is true, so the server never calls back into one.
func HostInfo() *Object {
	return &Object{Members: []Property{
		{"_isHostNull", true},
		{"_isHostUINull", true},
		{"_isHostRawUINull", true},
		{"_useRunspaceHost", true},
	}}
}

// Type names of the enums the INIT_RUNSPACEPOOL and CREATE_PIPELINE
// messages carry.
const (
	TypePSThreadOptions     = "System.Management.Automation.Runspaces.PSThreadOptions"
	TypeApartmentState      = "System.Threading.ApartmentState"
	TypeRemoteStreamOptions = "System.Management.Automation.Runspaces.RemoteStreamOptions"
	TypePipelineResultTypes = "System.Management.Automation.Runspaces.PipelineResultTypes"
	TypePrimitiveDictionary = "System.Management.Automation.PSPrimitiveDictionary"
)

// InitPool is the content of INIT_RUNSPACEPOOL (§2.2.2.2).
type InitPool struct {
	MinRunspaces, MaxRunspaces int32
	// ApplicationArguments become $PSSenderInfo.ApplicationArguments on the
	// server; nil sends a Null value.
	ApplicationArguments []DictEntry
}

// Object returns p in its serialized form: PSThreadOptions Default,
// ApartmentState Unknown, a null host.
func (p InitPool) Object() *Object {
	var args any
	if p.ApplicationArguments != nil {
		args = &Object{TypeNames: []string{TypePrimitiveDictionary, "System.Collections.Hashtable", "System.Object"}, Dict: p.ApplicationArguments}
	}
	return &Object{Members: []Property{
		{"MinRunspaces", p.MinRunspaces},
		{"MaxRunspaces", p.MaxRunspaces},
		{"PSThreadOptions", Enum(TypePSThreadOptions, "Default", 0)},
		{"ApartmentState", Enum(TypeApartmentState, "Unknown", 2)},
		{"HostInfo", HostInfo()},
		{"ApplicationArguments", args},
	}}
}

// ParseInitPool reads an INIT_RUNSPACEPOOL message's data.
func ParseInitPool(v any) (InitPool, error) {
	o, ok := v.(*Object)
	if !ok {
		return InitPool{}, errors.New("psrp: INIT_RUNSPACEPOOL is not an object")
	}
	lo, ok1 := o.Int("MinRunspaces")
	hi, ok2 := o.Int("MaxRunspaces")
	if !ok1 || !ok2 || lo < 1 || hi < lo {
		return InitPool{}, fmt.Errorf("psrp: INIT_RUNSPACEPOOL has runspaces %d..%d", lo, hi)
	}
	p := InitPool{MinRunspaces: int32(lo), MaxRunspaces: int32(hi)}
	if a := o.Obj("ApplicationArguments"); a != nil {
		p.ApplicationArguments = a.Dict
	}
	return p, nil
}

// PoolState is the content of RUNSPACEPOOL_STATE (§2.2.2.9).
type PoolState struct {
	State RunspacePoolState
	// Error explains a Broken or Closed state, when the server gives one.
	Error *ErrorRecord
}

// Object returns s in its serialized form.
func (s PoolState) Object() *Object {
	o := &Object{Members: []Property{{"RunspaceState", int32(s.State)}}}
	if s.Error != nil {
		o.Members = append(o.Members, Property{"ExceptionAsErrorRecord", s.Error.Object()})
	}
	return o
}

// ParsePoolState reads a RUNSPACEPOOL_STATE message's data.
func ParsePoolState(v any) (PoolState, error) {
	o, ok := v.(*Object)
	if !ok {
		return PoolState{}, errors.New("psrp: RUNSPACEPOOL_STATE is not an object")
	}
	n, ok := o.Int("RunspaceState")
	if !ok {
		return PoolState{}, errors.New("psrp: RUNSPACEPOOL_STATE without a RunspaceState")
	}
	s := PoolState{State: RunspacePoolState(n)}
	if e := o.Obj("ExceptionAsErrorRecord"); e != nil {
		er := ParseErrorRecord(e)
		s.Error = &er
	}
	return s, nil
}

// PublicKeyObject returns the content of a PUBLIC_KEY message (§2.2.2.3).
func PublicKeyObject(blob []byte) *Object {
	return &Object{Members: []Property{{"PublicKey", base64.StdEncoding.EncodeToString(blob)}}}
}

// EncryptedSessionKeyObject returns the content of an ENCRYPTED_SESSION_KEY
// message (§2.2.2.4).
func EncryptedSessionKeyObject(blob []byte) *Object {
	return &Object{Members: []Property{{"EncryptedSessionKey", base64.StdEncoding.EncodeToString(blob)}}}
}

// ParseKeyBlob reads the base64 blob of a PUBLIC_KEY (property PublicKey)
// or ENCRYPTED_SESSION_KEY (property EncryptedSessionKey) message.
func ParseKeyBlob(v any, property string) ([]byte, error) {
	o, ok := v.(*Object)
	if !ok {
		return nil, fmt.Errorf("psrp: %s message is not an object", property)
	}
	b, err := decodeBase64(o.String(property))
	if err != nil || len(b) == 0 {
		return nil, fmt.Errorf("psrp: %s is not base64", property)
	}
	return b, nil
}
