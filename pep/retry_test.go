package pep

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"syscall"
	"testing"

	"github.com/runbook-dev/runbook/wsman"
)

func TestRetryable(t *testing.T) {
	tests := map[string]struct {
		err  error
		want bool
	}{
		"nil":                 {err: nil, want: false},
		"connection refused":  {err: &wsman.ConnectError{Addr: "10.0.0.1:5985", Err: syscall.ECONNREFUSED}, want: true},
		"soap fault":          {err: &wsman.FaultError{Code: "s:Receiver", Subcode: "w:InternalError"}, want: true},
		"http status":         {err: fmt.Errorf("invoke: %w", &wsman.HTTPError{StatusCode: 503}), want: true},
		"reset":               {err: fmt.Errorf("receive: %w", syscall.ECONNRESET), want: true},
		"cut reply":           {err: io.ErrUnexpectedEOF, want: true},
		"deadline":            {err: context.DeadlineExceeded, want: true},
		"canceled":            {err: context.Canceled, want: false},
		"unauthorized":        {err: fmt.Errorf("dial: %w", wsman.ErrUnauthorized), want: false},
		"sealing refused":     {err: wsman.ErrSealingRefused, want: false},
		"basic not loopback":  {err: wsman.ErrBasicNotLoopback, want: false},
		"unknown authority":   {err: &wsman.ConnectError{Addr: "x", Err: x509.UnknownAuthorityError{}}, want: false},
		"command failed":      {err: &CommandError{Cmdlet: "Set-BmcCredential", Record: ErrorRecord{Message: "no"}}, want: false},
		"plain error":         {err: errors.New("something else"), want: false},
		"unauthorized in 503": {err: fmt.Errorf("%w: %w", &wsman.HTTPError{StatusCode: 401}, wsman.ErrUnauthorized), want: false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := Retryable(tc.err); got != tc.want {
				t.Errorf("Retryable(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}
