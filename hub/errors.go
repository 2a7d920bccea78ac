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

// ErrorInfo is ARM's error object: code, message and details.
//
// It decodes from both shapes a stamp may send. The specification's
// ExtendedErrorInfo (Deployment.json) wraps it, {"error": {"code",
// "message", "details"}}, and ProductDeploymentsProperties.error has that
// shape; a bare {"code", "message"} is what the inner object and many ARM
// services send. A bare string becomes the message, and anything else
// decodes as empty rather than failing the resource that carries it.
type ErrorInfo struct {
	Code    string      `json:"code"`
	Message string      `json:"message"`
	Target  string      `json:"target,omitempty"`
	Details []ErrorInfo `json:"details,omitempty"`
}

// UnmarshalJSON accepts the ExtendedErrorInfo envelope and the bare object.
func (e *ErrorInfo) UnmarshalJSON(b []byte) error {
	type plain ErrorInfo // without this method
	*e = ErrorInfo{}
	var s string
	if json.Unmarshal(b, &s) == nil {
		e.Message = s
		return nil
	}
	var env struct {
		Error json.RawMessage `json:"error"`
		plain
	}
	if json.Unmarshal(b, &env) != nil {
		return nil
	}
	if len(env.Error) > 0 {
		var inner ErrorInfo
		if err := inner.UnmarshalJSON(env.Error); err == nil && !inner.empty() {
			*e = inner
			return nil
		}
	}
	*e = ErrorInfo(env.plain)
	return nil
}

// empty reports whether e carries neither a code nor a message.
func (e *ErrorInfo) empty() bool { return e == nil || (e.Code == "" && e.Message == "") }

// Reason is "code: message" without a final period, or "" when e is empty.
func (e *ErrorInfo) Reason() string {
	if e.empty() {
		return ""
	}
	return strings.TrimRight(strings.Trim(e.Code+": "+e.Message, ": "), ". ")
}

// parseErrorBody reads an ARM error from a response body, in either shape
// ErrorInfo accepts; for anything else it returns a short excerpt of the
// body as the message.
func parseErrorBody(body []byte) (code, message string) {
	var info ErrorInfo
	if json.Unmarshal(body, &info) == nil && !info.empty() && strings.HasPrefix(strings.TrimSpace(string(body)), "{") {
		return info.Code, info.Message
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
