package wsman

import (
	"errors"
	"fmt"
	"strings"
)

// Errors a caller may test with errors.Is.
var (
	// ErrUnauthorized: the server refused the credentials.
	ErrUnauthorized = errors.New("wsman: authentication failed (401): wrong user name or password, or the account may not use this endpoint")
	// ErrNoNegotiate: the server did not offer Negotiate; the client will
	// not fall back to Basic.
	ErrNoNegotiate = errors.New("wsman: server does not offer Negotiate authentication; refusing to fall back to Basic")
	// ErrSealingRefused: the server's NTLM challenge drops the sealing
	// flags; the client will not send clear text over HTTP.
	ErrSealingRefused = errors.New("wsman: server did not agree to NTLM message sealing; refusing to send clear text over HTTP")
	// ErrUnsealedReply: the server answered a sealed request in clear text.
	ErrUnsealedReply = errors.New("wsman: server answered a sealed request without sealing; refusing the reply")
	// ErrClosed: the client was closed.
	ErrClosed = errors.New("wsman: client closed")
)

// ConnectError reports that the endpoint could not be reached (dial or TLS
// handshake failed). Nothing was sent, so trying another address is safe.
type ConnectError struct {
	Addr string
	Err  error
}

// Error names the address and the cause.
func (e *ConnectError) Error() string { return fmt.Sprintf("wsman: connect %s: %v", e.Addr, e.Err) }

// Unwrap returns the cause.
func (e *ConnectError) Unwrap() error { return e.Err }

// HTTPError is an unexpected HTTP status.
type HTTPError struct {
	StatusCode int
	// Snippet is the start of the body, when it was text.
	Snippet string
}

// Error gives the status and the start of a text body.
func (e *HTTPError) Error() string {
	if e.Snippet != "" {
		return fmt.Sprintf("wsman: http status %d: %s", e.StatusCode, e.Snippet)
	}
	return fmt.Sprintf("wsman: http status %d", e.StatusCode)
}

// FaultError is a WS-Management SOAP fault (HTTP 500).
type FaultError struct {
	// Code and Subcode are the s:Code and s:Subcode values
	// ("s:Receiver", "w:TimedOut").
	Code, Subcode string
	// Reason is the s:Reason text.
	Reason string
	// WSManCode is the f:WSManFault Code attribute (0 when absent).
	WSManCode uint32
	// Action is the a:Action of the request that failed.
	Action string
}

// Error includes the reason text: masterzen's Receive loop recognises a
// timed-out poll by the word "OperationTimeout" in it.
func (e *FaultError) Error() string {
	s := "wsman: fault"
	if e.Subcode != "" {
		s += " " + e.Subcode
	}
	if e.WSManCode != 0 {
		s += fmt.Sprintf(" (%d)", e.WSManCode)
	}
	return s + ": " + e.Reason
}

// TimedOut reports whether the fault is a Receive that found no output
// within the OperationTimeout: not a failure, poll again.
func (e *FaultError) TimedOut() bool {
	_, local, _ := strings.Cut(e.Subcode, ":")
	return local == "TimedOut" || e.Subcode == "TimedOut" || e.WSManCode == 2150858793
}

// IsTimedOut reports whether err is a timed-out poll (FaultError.TimedOut).
func IsTimedOut(err error) bool {
	var f *FaultError
	return errors.As(err, &f) && f.TimedOut()
}
