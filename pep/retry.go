package pep

import (
	"context"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"syscall"

	"github.com/runbook-dev/runbook/wsman"
)

// Auth is how a session authenticates; see Config.Auth.
type Auth = wsman.Auth

// The authentication modes of Config.Auth.
const (
	// AuthNTLM negotiates NTLM and seals every message, also over HTTP.
	AuthNTLM = wsman.AuthNTLM
	// AuthBasic sends the credentials in the clear: the loopback
	// simulator only.
	AuthBasic = wsman.AuthBasic
)

// Retryable reports whether another attempt may get past err, an error of
// Dial or of a Session: transport failures (a connection refused or reset,
// a SOAP fault, an HTTP error status, a timeout), but not refused
// credentials (repeated bad logons lock the CloudAdmin account), refused
// security downgrades, untrusted certificates, a canceled context or a
// command the PEP ran and failed.
//
// It lives here, beside the transport, so that callers judge PEP errors
// without knowing the WS-Management layer underneath.
func Retryable(err error) bool {
	var ce *CommandError
	var ua x509.UnknownAuthorityError
	var ci x509.CertificateInvalidError
	var hn x509.HostnameError
	switch {
	case err == nil:
		return false
	case errors.As(err, &ce), errors.Is(err, wsman.ErrUnauthorized), errors.Is(err, wsman.ErrNoNegotiate),
		errors.Is(err, wsman.ErrSealingRefused), errors.Is(err, wsman.ErrUnsealedReply),
		errors.Is(err, wsman.ErrBasicNotLoopback), errors.Is(err, context.Canceled),
		errors.As(err, &ua), errors.As(err, &ci), errors.As(err, &hn):
		return false
	}
	var conn *wsman.ConnectError
	var fault *wsman.FaultError
	var status *wsman.HTTPError
	return errors.As(err, &conn) || errors.As(err, &fault) || errors.As(err, &status) ||
		errors.Is(err, context.DeadlineExceeded) || isNetError(err)
}

// isNetError reports a network failure after the connection was made: a
// timeout, a reset or a connection closed mid-reply.
func isNetError(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}
