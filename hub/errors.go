package hub

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
)

// Error is every failure the client reports. It names the stamp and the
// operation, and carries what the stamp said: the HTTP status and the ARM
// error code and message. Secrets are redacted from all fields.
type Error struct {
	// Stamp is the hub's name from the runbook, or the endpoint's host.
	Stamp string
	// Op says what the client was doing, e.g.
	// "import secret microsoft.eventhub.1.2003.0.0/aseh-ssl-gateway-pfx".
	Op string
	// StatusCode is the HTTP status of the response that failed, or 0 when
	// no response arrived (network or TLS failure, authentication failure).
	StatusCode int
	// Code is the ARM error code (error.code), or the failed operation's
	// error code; empty when the stamp sent none.
	Code string
	// Message is the ARM error message, or a description of the failure.
	Message string
	// Err is the underlying cause, if any: a transport error (x509 errors
	// are reachable with errors.As), an azidentity error, or one of
	// ErrOperationFailed, ErrOperationCanceled, ErrOutcomeUnknown.
	Err error
}

// Sentinel causes carried in Error.Err.
var (
	// ErrOperationFailed: a long-running operation ended with status Failed.
	ErrOperationFailed = errors.New("operation failed")
	// ErrOperationCanceled: a long-running operation ended with status Canceled.
	ErrOperationCanceled = errors.New("operation canceled")
	// ErrOutcomeUnknown: a request that changes state (rotateSecrets) may or
	// may not have reached the stamp; read the stamp's state before trying
	// again.
	ErrOutcomeUnknown = errors.New("outcome unknown")
)

// Error formats as "hub <stamp>: <op>: <code>: <message> (HTTP <status>)",
// leaving out the parts that are empty; a sentinel cause comes right after
// the operation ("…: operation failed: <code>: <message>"), any other cause
// at the end.
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "hub %s: %s", e.Stamp, e.Op)
	sentinel := isSentinel(e.Err)
	if sentinel {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	switch {
	case e.Code != "" && e.Message != "":
		fmt.Fprintf(&b, ": %s: %s", e.Code, e.Message)
	case e.Code != "":
		fmt.Fprintf(&b, ": %s", e.Code)
	case e.Message != "":
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, " (HTTP %d)", e.StatusCode)
	}
	if e.Err != nil && !sentinel {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	return b.String()
}

func isSentinel(err error) bool {
	return err == ErrOperationFailed || err == ErrOperationCanceled || err == ErrOutcomeUnknown
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// IsNotFound reports whether err is an *Error for an HTTP 404: an unknown
// product, package, secret or operation.
func IsNotFound(err error) bool { return hasStatus(err, http.StatusNotFound) }

// IsConflict reports whether err is an *Error for an HTTP 409, e.g. a
// rotateSecrets while a rotation of the same product is in progress.
func IsConflict(err error) bool { return hasStatus(err, http.StatusConflict) }

func hasStatus(err error, status int) bool {
	var e *Error
	return errors.As(err, &e) && e.StatusCode == status
}

// ErrorInfo is ARM's error object (ExtendedErrorInfo in the specification).
type ErrorInfo struct {
	Code    string      `json:"code"`
	Message string      `json:"message"`
	Target  string      `json:"target,omitempty"`
	Details []ErrorInfo `json:"details,omitempty"`
}

// parseErrorBody reads an ARM error from a response body. It accepts the
// usual {"error":{…}} envelope and a bare {"code","message"} object; for
// anything else it returns a short excerpt of the body as the message.
func parseErrorBody(body []byte) (code, message string) {
	var env struct {
		Error *ErrorInfo `json:"error"`
		ErrorInfo
	}
	if json.Unmarshal(body, &env) == nil {
		if env.Error != nil && (env.Error.Code != "" || env.Error.Message != "") {
			return env.Error.Code, env.Error.Message
		}
		if env.Code != "" || env.Message != "" {
			return env.Code, env.Message
		}
	}
	text := strings.TrimSpace(string(body))
	if len(text) > 200 {
		text = text[:200] + "…"
	}
	return "", text
}

// responseError builds the *Error for a response with an unexpected status.
func (c *Client) responseError(op string, resp *http.Response, r redactor) *Error {
	body, _ := runtime.Payload(resp)
	code, msg := parseErrorBody(body)
	if code == "" {
		code = resp.Header.Get("x-ms-error-code")
	}
	if msg == "" {
		msg = http.StatusText(resp.StatusCode)
	}
	return &Error{Stamp: c.stamp, Op: op, StatusCode: resp.StatusCode, Code: r.apply(code), Message: r.apply(msg)}
}

// transportError builds the *Error for a request that got no response.
func (c *Client) transportError(op string, err error, r redactor) *Error {
	return &Error{Stamp: c.stamp, Op: op, Err: r.redactError(err)}
}
