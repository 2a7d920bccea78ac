package azurerm

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/runbook-dev/runbook/clock"
	"github.com/runbook-dev/runbook/internal/azretry"
)

// versionPolicy pins x-ms-version. It writes the raw lower-case map key the
// SDK set: Header.Set would add a second, canonical X-Ms-Version header,
// which the service refuses. It runs per call, before the request is
// signed, so the signature covers the pinned version.
type versionPolicy string

// Do implements policy.Policy.
func (v versionPolicy) Do(req *policy.Request) (*http.Response, error) {
	h := req.Raw().Header
	delete(h, "X-Ms-Version")
	h["x-ms-version"] = []string{string(v)}
	return req.Next()
}

func (o RetryOptions) withDefaults() RetryOptions {
	if o.MaxRetries == 0 {
		o.MaxRetries = 6
	}
	if o.Delay == 0 {
		o.Delay = 500 * time.Millisecond
	}
	if o.MaxDelay == 0 {
		o.MaxDelay = 15 * time.Second
	}
	return o
}

// retryPolicy retries throttled (429), timed-out (408) and failed (5xx)
// requests and lost connections, waiting on the clock and honouring
// Retry-After. Repeating a request is safe because every write this
// package sends is conditional (If-Match, If-None-Match, an append
// position or a lease id): a repeat of a write that landed fails its
// condition, and the caller reads back to learn which it was.
type retryPolicy struct {
	clock clock.Clock
	opts  RetryOptions
	logf  func(format string, args ...any)
}

// Do implements policy.Policy.
func (p *retryPolicy) Do(req *policy.Request) (*http.Response, error) {
	return azretry.Loop{Clock: p.clock, MaxRetries: p.opts.MaxRetries, Lost: "connection lost", Logf: p.logf}.Do(req,
		func(resp *http.Response, err error, try int) (time.Duration, bool) { return p.decide(resp, err, try) })
}

func (p *retryPolicy) decide(resp *http.Response, err error, try int) (time.Duration, bool) {
	if try > p.opts.MaxRetries {
		return 0, false
	}
	if err != nil {
		return p.backoff(try), retriableError(err)
	}
	switch c := resp.StatusCode; {
	case c == http.StatusRequestTimeout, c == http.StatusTooManyRequests:
	case c >= 500 && c != http.StatusNotImplemented && c != http.StatusHTTPVersionNotSupported:
	default:
		return 0, false
	}
	if d, ok := retryAfter(resp); ok {
		return min(d, p.opts.MaxDelay), true
	}
	return p.backoff(try), true
}

// backoff is Delay·2^(try-1), capped at MaxDelay, with ±20% jitter.
func (p *retryPolicy) backoff(try int) time.Duration {
	d := p.opts.Delay
	for i := 1; i < try && d < p.opts.MaxDelay; i++ {
		d *= 2
	}
	return time.Duration(float64(min(d, p.opts.MaxDelay)) * (0.8 + 0.4*rand.Float64()))
}

// retriableError is false for TLS trust failures, which no retry cures.
func retriableError(err error) bool {
	var (
		verify    *tls.CertificateVerificationError
		unknownCA x509.UnknownAuthorityError
		hostname  x509.HostnameError
		record    tls.RecordHeaderError
	)
	return !errors.As(err, &verify) && !errors.As(err, &unknownCA) && !errors.As(err, &hostname) && !errors.As(err, &record)
}

// retryAfter reads x-ms-retry-after-ms or Retry-After (seconds).
func retryAfter(resp *http.Response) (time.Duration, bool) {
	if v := resp.Header.Get("x-ms-retry-after-ms"); v != "" {
		if ms, err := strconv.Atoi(v); err == nil && ms >= 0 {
			return time.Duration(ms) * time.Millisecond, true
		}
	}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s >= 0 {
		return time.Duration(s) * time.Second, true
	}
	return 0, false
}

// stats counts what went over the wire, for benchmarks and tests.
type stats struct {
	requests, appends atomic.Int64
}

// Stats are the counts of requests a Backend sent (each try counts).
type Stats struct {
	Requests int64 // every HTTP request
	Appends  int64 // Append Block requests
}

// Stats returns the requests sent so far.
func (b *Backend) Stats() Stats {
	return Stats{Requests: b.stats.requests.Load(), Appends: b.stats.appends.Load()}
}

// logPolicy counts each try and logs method, path and status: never
// headers, bodies or query strings (a SAS token is a query string).
type logPolicy struct {
	clock clock.Clock
	logf  func(format string, args ...any)
	stats *stats
}

// Do implements policy.Policy.
func (p *logPolicy) Do(req *policy.Request) (*http.Response, error) {
	p.stats.requests.Add(1)
	if req.Raw().URL.Query().Get("comp") == "appendblock" {
		p.stats.appends.Add(1)
	}
	start := p.clock.Now()
	resp, err := req.Next()
	if err != nil {
		p.logf("%s %s: %v (%s)", req.Raw().Method, req.Raw().URL.Path, bare(err), p.clock.Since(start))
	} else {
		p.logf("%s %s: %d (%s)", req.Raw().Method, req.Raw().URL.Path, resp.StatusCode, p.clock.Since(start))
	}
	return resp, err
}

// bare strips the URL (which may carry a SAS token) from a transport error.
func bare(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
