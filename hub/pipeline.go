package hub

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/runbook-dev/runbook/clock"
	"github.com/runbook-dev/runbook/internal/azretry"
)

// callInfo travels with a request through the pipeline (as an azcore
// operation value) and tells the policies how to treat it.
type callInfo struct {
	// unsafe marks a request that changes state and must not be repeated
	// once it may have reached the stamp (rotateSecrets).
	unsafe bool
}

// nonRetriable marks an error the retry policy must pass through at once
// (e.g. a failed sign-in: the credential has already retried).
type nonRetriable struct{ err error }

// Error returns the wrapped error's text.
func (e nonRetriable) Error() string { return e.err.Error() }

// Unwrap returns the wrapped error.
func (e nonRetriable) Unwrap() error { return e.err }

// retryPolicy replaces azcore's retry policy, which sleeps on the wall
// clock: it waits on the injected clock, honours Retry-After (and the
// retry-after-ms headers ARM also uses) and does not repeat a state-changing
// request that may have been received.
type retryPolicy struct {
	clock clock.Clock
	opts  RetryOptions
	logf  func(format string, args ...any)
}

// Do implements policy.Policy.
func (p *retryPolicy) Do(req *policy.Request) (*http.Response, error) {
	var info callInfo
	req.OperationValue(&info)
	return azretry.Loop{Clock: p.clock, MaxRetries: p.opts.MaxRetries, Lost: "network error", Logf: p.logf}.Do(req,
		func(resp *http.Response, err error, try int) (time.Duration, bool) {
			return p.decide(resp, err, info, try)
		})
}

// decide says whether to retry after try number try, and after how long.
func (p *retryPolicy) decide(resp *http.Response, err error, info callInfo, try int) (time.Duration, bool) {
	if try > p.opts.MaxRetries {
		return 0, false
	}
	if err != nil {
		if !retriableError(err) || (info.unsafe && !isDialError(err)) {
			return 0, false
		}
		return p.backoff(try), true
	}
	if !retriableStatus(resp.StatusCode) {
		return 0, false
	}
	if d, ok := retryAfter(resp, p.clock); ok {
		if d > p.opts.MaxDelay {
			return 0, false
		}
		return d, true
	}
	return p.backoff(try), true
}

// backoff is Delay·2^(try-1), capped at MaxDelay, with ±20% jitter.
func (p *retryPolicy) backoff(try int) time.Duration {
	d := p.opts.Delay
	for i := 1; i < try && d < p.opts.MaxDelay; i++ {
		d *= 2
	}
	d = min(d, p.opts.MaxDelay)
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// retriableStatus: 408, 429 and 5xx except 501 (not implemented) and 505
// (HTTP version), which a retry cannot cure.
func retriableStatus(code int) bool {
	switch {
	case code == http.StatusRequestTimeout, code == http.StatusTooManyRequests:
		return true
	case code == http.StatusNotImplemented, code == http.StatusHTTPVersionNotSupported:
		return false
	default:
		return code >= 500 && code <= 599
	}
}

// retriableError is false for errors a retry cannot cure: a certificate the
// client does not trust, a plain-HTTP server, or a failed sign-in.
func retriableError(err error) bool {
	var (
		nr        nonRetriable
		verify    *tls.CertificateVerificationError
		unknownCA x509.UnknownAuthorityError
		hostname  x509.HostnameError
		invalid   x509.CertificateInvalidError
		record    tls.RecordHeaderError
	)
	return !errors.As(err, &nr) && !errors.As(err, &verify) && !errors.As(err, &unknownCA) &&
		!errors.As(err, &hostname) && !errors.As(err, &invalid) && !errors.As(err, &record)
}

// isDialError reports whether err happened while connecting, before any
// byte of the request was sent.
func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// retryAfter reads the wait the server asked for: retry-after-ms or
// x-ms-retry-after-ms (milliseconds), else Retry-After (seconds or an HTTP
// date, measured against the clock).
func retryAfter(resp *http.Response, c clock.Clock) (time.Duration, bool) {
	if resp == nil {
		return 0, false
	}
	for _, h := range []string{"retry-after-ms", "x-ms-retry-after-ms"} {
		if v := resp.Header.Get(h); v != "" {
			if ms, err := strconv.Atoi(v); err == nil && ms >= 0 {
				return time.Duration(ms) * time.Millisecond, true
			}
		}
	}
	v := resp.Header.Get("Retry-After")
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(c.Now()), 0), true
	}
	return 0, false
}

// logPolicy logs every exchange on the wire: method, URL path, status or
// error, and duration on the clock. Never bodies, headers or query strings.
type logPolicy struct {
	clock clock.Clock
	logf  func(format string, args ...any)
}

// Do implements policy.Policy.
func (p *logPolicy) Do(req *policy.Request) (*http.Response, error) {
	start := p.clock.Now()
	resp, err := req.Next()
	d := p.clock.Since(start)
	if err != nil {
		p.logf("%s %s: %v (%s)", req.Raw().Method, req.Raw().URL.Path, err, d)
	} else {
		p.logf("%s %s: %d (%s)", req.Raw().Method, req.Raw().URL.Path, resp.StatusCode, d)
	}
	return resp, err
}

// newPipeline assembles the azcore pipeline: our retry policy per call, then
// the given per-try policies (token), then the log, with azcore's own
// retries off.
func newPipeline(hc *http.Client, retry *retryPolicy, log *logPolicy, perTry ...policy.Policy) runtime.Pipeline {
	return runtime.NewPipeline("runbook/hub", "v1", runtime.PipelineOptions{
		PerCall:  []policy.Policy{retry},
		PerRetry: append(perTry, log),
	}, &policy.ClientOptions{
		Retry:     policy.RetryOptions{MaxRetries: -1},
		Transport: hc,
		Telemetry: policy.TelemetryOptions{ApplicationID: "runbook"},
	})
}
