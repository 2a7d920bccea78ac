package wsman

import (
	"encoding/base64"
	"fmt"
	"strings"
)

// Fault is a WS-Management SOAP fault, sent with HTTP status 500. Handlers
// return one to fail a request the way Windows would; the constructors below
// give the common ones with Windows' codes and texts.
type Fault struct {
	// Code is the SOAP s:Code value: "s:Sender" or "s:Receiver".
	Code string
	// Subcode is the s:Subcode value, e.g. "w:TimedOut", "w:InvalidSelectors".
	Subcode string
	// Reason is the s:Reason text. It is shown to users: no secrets.
	Reason string
	// WSManCode is the f:WSManFault Code (a Windows error number), 0 to omit.
	WSManCode uint32
}

// Error returns the fault's subcode and reason.
func (f *Fault) Error() string {
	return fmt.Sprintf("wsman fault %s: %s", f.Subcode, f.Reason)
}

// TimedOutFault is what Windows answers to a Receive that found no output
// within its OperationTimeout. Clients (masterzen) look for the literal text
// "OperationTimeout" in it and poll again.
func TimedOutFault() *Fault {
	return &Fault{
		Code:      "s:Receiver",
		Subcode:   "w:TimedOut",
		Reason:    "The WS-Management service cannot complete the operation within the time specified in OperationTimeout.",
		WSManCode: 2150858793,
	}
}

// InvalidSelectorsFault answers a request naming a shell or command that does
// not exist.
func InvalidSelectorsFault(what string) *Fault {
	return &Fault{
		Code:      "s:Sender",
		Subcode:   "w:InvalidSelectors",
		Reason:    "The WS-Management service cannot process the request because the request contained invalid selectors for the resource. " + what,
		WSManCode: 2150858843,
	}
}

// QuotaLimitFault answers a Create beyond the shell limit.
func QuotaLimitFault(max int) *Fault {
	return &Fault{
		Code:      "s:Receiver",
		Subcode:   "w:QuotaLimit",
		Reason:    fmt.Sprintf("The WS-Management service cannot process the request. This user is allowed a maximum number of %d concurrent shells, which has been exceeded. Close existing shells or raise the quota for this user.", max),
		WSManCode: 2150859173,
	}
}

// ActionNotSupportedFault answers an action the server does not know, or a
// ResourceURI nobody serves.
func ActionNotSupportedFault(what string) *Fault {
	return &Fault{
		Code:      "s:Sender",
		Subcode:   "a:ActionNotSupported",
		Reason:    "The action is not supported by the service. " + what,
		WSManCode: 2150858765,
	}
}

// InvalidMessageFault answers a request the server cannot decode.
func InvalidMessageFault(what string) *Fault {
	return &Fault{
		Code:      "s:Sender",
		Subcode:   "w:InvalidMessageInformationHeader",
		Reason:    "The WS-Management service cannot process the request because the message is invalid. " + what,
		WSManCode: 2150858817,
	}
}

// EncodingLimitFault answers a request whose reply would exceed the client's
// MaxEnvelopeSize.
func EncodingLimitFault() *Fault {
	return &Fault{
		Code:      "s:Sender",
		Subcode:   "w:EncodingLimit",
		Reason:    "The WS-Management service cannot process the request because the response would exceed the maximum envelope size.",
		WSManCode: 2150858819,
	}
}

// InternalErrorFault wraps an unexpected handler error.
func InternalErrorFault(err error) *Fault {
	return &Fault{
		Code:      "s:Receiver",
		Subcode:   "w:InternalError",
		Reason:    "The WS-Management service cannot process the request. " + err.Error(),
		WSManCode: 2150858752,
	}
}

func decodeBase64(s string) ([]byte, error) {
	return base64.StdEncoding.DecodeString(strings.TrimSpace(s))
}

func equalFold(a, b string) bool { return strings.EqualFold(a, b) }
