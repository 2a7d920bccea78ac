package psrp

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// MessageHeaderLen is the size of the fixed part of a message:
// Destination (4), MessageType (4), RPID (16) and PID (16).
const MessageHeaderLen = 40

// utf8BOM prefixes the data of messages a Windows server sends; it is not
// part of the CLIXML.
var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// Destination says which side a message is for (§2.2.1).
type Destination uint32

// Destinations.
const (
	ToClient Destination = 0x00000001
	ToServer Destination = 0x00000002
)

func (d Destination) String() string {
	switch d {
	case ToClient:
		return "client"
	case ToServer:
		return "server"
	}
	return fmt.Sprintf("Destination(%#x)", uint32(d))
}

// MessageType identifies what a message carries (§2.2.1).
type MessageType uint32

// Message types. The high half names the target: 0x0001 and 0x0002 the
// RunspacePool, 0x0004 a pipeline.
const (
	MsgSessionCapability        MessageType = 0x00010002
	MsgInitRunspacePool         MessageType = 0x00010004
	MsgPublicKey                MessageType = 0x00010005
	MsgEncryptedSessionKey      MessageType = 0x00010006
	MsgPublicKeyRequest         MessageType = 0x00010007
	MsgConnectRunspacePool      MessageType = 0x00010008
	MsgSetMaxRunspaces          MessageType = 0x00021002
	MsgSetMinRunspaces          MessageType = 0x00021003
	MsgRunspaceAvailability     MessageType = 0x00021004
	MsgRunspacePoolState        MessageType = 0x00021005
	MsgCreatePipeline           MessageType = 0x00021006
	MsgGetAvailableRunspaces    MessageType = 0x00021007
	MsgUserEvent                MessageType = 0x00021008
	MsgApplicationPrivateData   MessageType = 0x00021009
	MsgGetCommandMetadata       MessageType = 0x0002100A
	MsgRunspacePoolInitData     MessageType = 0x0002100B
	MsgResetRunspaceState       MessageType = 0x0002100C
	MsgRunspacePoolHostCall     MessageType = 0x00021100
	MsgRunspacePoolHostResponse MessageType = 0x00021101
	MsgPipelineInput            MessageType = 0x00041002
	MsgEndOfPipelineInput       MessageType = 0x00041003
	MsgPipelineOutput           MessageType = 0x00041004
	MsgErrorRecord              MessageType = 0x00041005
	MsgPipelineState            MessageType = 0x00041006
	MsgDebugRecord              MessageType = 0x00041007
	MsgVerboseRecord            MessageType = 0x00041008
	MsgWarningRecord            MessageType = 0x00041009
	MsgProgressRecord           MessageType = 0x00041010
	MsgInformationRecord        MessageType = 0x00041011
	MsgPipelineHostCall         MessageType = 0x00041100
	MsgPipelineHostResponse     MessageType = 0x00041101
)

var messageTypeNames = map[MessageType]string{
	MsgSessionCapability:        "SESSION_CAPABILITY",
	MsgInitRunspacePool:         "INIT_RUNSPACEPOOL",
	MsgPublicKey:                "PUBLIC_KEY",
	MsgEncryptedSessionKey:      "ENCRYPTED_SESSION_KEY",
	MsgPublicKeyRequest:         "PUBLIC_KEY_REQUEST",
	MsgConnectRunspacePool:      "CONNECT_RUNSPACEPOOL",
	MsgSetMaxRunspaces:          "SET_MAX_RUNSPACES",
	MsgSetMinRunspaces:          "SET_MIN_RUNSPACES",
	MsgRunspaceAvailability:     "RUNSPACE_AVAILABILITY",
	MsgRunspacePoolState:        "RUNSPACEPOOL_STATE",
	MsgCreatePipeline:           "CREATE_PIPELINE",
	MsgGetAvailableRunspaces:    "GET_AVAILABLE_RUNSPACES",
	MsgUserEvent:                "USER_EVENT",
	MsgApplicationPrivateData:   "APPLICATION_PRIVATE_DATA",
	MsgGetCommandMetadata:       "GET_COMMAND_METADATA",
	MsgRunspacePoolInitData:     "RUNSPACEPOOL_INIT_DATA",
	MsgResetRunspaceState:       "RESET_RUNSPACE_STATE",
	MsgRunspacePoolHostCall:     "RUNSPACEPOOL_HOST_CALL",
	MsgRunspacePoolHostResponse: "RUNSPACEPOOL_HOST_RESPONSE",
	MsgPipelineInput:            "PIPELINE_INPUT",
	MsgEndOfPipelineInput:       "END_OF_PIPELINE_INPUT",
	MsgPipelineOutput:           "PIPELINE_OUTPUT",
	MsgErrorRecord:              "ERROR_RECORD",
	MsgPipelineState:            "PIPELINE_STATE",
	MsgDebugRecord:              "DEBUG_RECORD",
	MsgVerboseRecord:            "VERBOSE_RECORD",
	MsgWarningRecord:            "WARNING_RECORD",
	MsgProgressRecord:           "PROGRESS_RECORD",
	MsgInformationRecord:        "INFORMATION_RECORD",
	MsgPipelineHostCall:         "PIPELINE_HOST_CALL",
	MsgPipelineHostResponse:     "PIPELINE_HOST_RESPONSE",
}

func (t MessageType) String() string {
	if s, ok := messageTypeNames[t]; ok {
		return s
	}
	return fmt.Sprintf("MessageType(%#08x)", uint32(t))
}

// Message is one PSRP message (§2.2.1). Data is the UTF-8 CLIXML payload
// (without a byte-order mark); RPID names the RunspacePool and PID the
// pipeline, NilGUID when the message is for the pool itself.
type Message struct {
	Destination Destination
	Type        MessageType
	RPID        GUID
	PID         GUID
	Data        []byte
}

// MarshalBinary returns the wire form of m.
func (m Message) MarshalBinary() ([]byte, error) {
	b := make([]byte, 0, MessageHeaderLen+len(m.Data))
	b = binary.LittleEndian.AppendUint32(b, uint32(m.Destination))
	b = binary.LittleEndian.AppendUint32(b, uint32(m.Type))
	rp := m.RPID.DotNetBytes()
	p := m.PID.DotNetBytes()
	b = append(b, rp[:]...)
	b = append(b, p[:]...)
	return append(b, m.Data...), nil
}

// ParseMessage decodes a reassembled message. A UTF-8 byte-order mark in
// front of the data, as Windows servers send, is dropped. Data aliases b.
func ParseMessage(b []byte) (Message, error) {
	if len(b) < MessageHeaderLen {
		return Message{}, fmt.Errorf("psrp: message of %d bytes is shorter than its %d-byte header", len(b), MessageHeaderLen)
	}
	m := Message{
		Destination: Destination(binary.LittleEndian.Uint32(b[0:4])),
		Type:        MessageType(binary.LittleEndian.Uint32(b[4:8])),
		RPID:        GUIDFromDotNetBytes(b[8:24]),
		PID:         GUIDFromDotNetBytes(b[24:40]),
		Data:        bytes.TrimPrefix(b[MessageHeaderLen:], utf8BOM),
	}
	if m.Destination != ToClient && m.Destination != ToServer {
		return Message{}, fmt.Errorf("psrp: %v message has unknown destination %#x", m.Type, uint32(m.Destination))
	}
	return m, nil
}
