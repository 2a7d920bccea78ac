package hub

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/runbook-dev/runbook/clock"
)

// Client talks to one stamp's admin ARM endpoint. It is safe for concurrent
// use; steps running in parallel share one Client per hub.
type Client struct {
	stamp        string
	endpoint     *url.URL
	base         string // endpoint without a trailing slash
	clock        clock.Clock
	logger       Logger
	secrets      redactor
	warnings     []string
	meta         Metadata
	anon, pl     runtime.Pipeline // without and with authentication
	tokens       *tokenSource
	pollInterval time.Duration
	pollErrors   int

	subMu sync.Mutex // held during the lookup: one lookup at a time
	sub   string
}

// New checks cfg, builds the HTTP pipeline and runs discovery: it reads the
// stamp's metadata endpoint (unauthenticated) and prepares the credential,
// reading certificate files. So New fails on an unreachable endpoint, an
// untrusted certificate, an unknown auth method or an unreadable
// certificate. Signing in and the Default Provider Subscription lookup are
// lazy: they happen on the first call that needs them, and are remembered.
func New(ctx context.Context, cfg Config) (*Client, error) {
	u, err := cfg.check()
	if err != nil {
		return nil, err
	}
	c := &Client{
		stamp:        cfg.Name,
		endpoint:     u,
		base:         u.String(),
		clock:        cfg.Clock,
		logger:       cfg.Logger,
		secrets:      redactor(nil).with(cfg.Auth.ClientSecret.Reveal(), cfg.Auth.CertificatePassword.Reveal()),
		pollInterval: cfg.PollInterval,
		pollErrors:   cfg.PollErrorLimit,
		sub:          cfg.SubscriptionID,
	}
	if c.stamp == "" {
		c.stamp = u.Hostname()
	}
	if c.clock == nil {
		c.clock = clock.Real
	}
	if c.pollInterval <= 0 {
		c.pollInterval = defaultPollInterval
	}
	if c.pollErrors <= 0 {
		c.pollErrors = 10
	}
	hc, warnings, err := newHTTPClient(&cfg, c.stamp)
	if err != nil {
		return nil, err
	}
	for _, w := range warnings {
		c.warn(w)
	}
	retry := &retryPolicy{clock: c.clock, opts: cfg.Retry.withDefaults(), logf: c.logf}
	log := &logPolicy{clock: c.clock, logf: c.logf}
	c.anon = newPipeline(hc, retry, log)
	if c.meta, err = c.discover(ctx, cfg.Auth); err != nil {
		return nil, err
	}
	factory, err := newCredentialFactory(&cfg, c.stamp, c.meta, hc, []policy.Policy{retry}, []policy.Policy{log})
	if err != nil {
		return nil, c.secrets.redactError(err)
	}
	c.tokens = &tokenSource{clock: c.clock, scope: c.meta.Scope, factory: factory}
	c.pl = newPipeline(hc, retry, log, &tokenPolicy{src: c.tokens})
	return c, nil
}

// Stamp returns the name the client gives the stamp in errors and logs.
func (c *Client) Stamp() string { return c.stamp }

// Metadata returns what discovery learned about the stamp's sign-in.
func (c *Client) Metadata() Metadata { return c.meta }

// Warnings returns the warnings New emitted (e.g. TLS verification off),
// for a caller that shows them apart from the log.
func (c *Client) Warnings() []string { return append([]string(nil), c.warnings...) }

// logf sends one redacted line, prefixed with the stamp, to the Logger.
func (c *Client) logf(format string, args ...any) {
	if c.logger != nil {
		c.logger("%s", c.secrets.apply("hub "+c.stamp+": "+fmt.Sprintf(format, args...)))
	}
}

// warn records a warning and emits it: through the Logger, or on os.Stderr
// when there is none, so it is never silent.
func (c *Client) warn(msg string) {
	c.warnings = append(c.warnings, msg)
	if c.logger != nil {
		c.logger("warning: %s", msg)
		return
	}
	fmt.Fprintln(os.Stderr, "warning: "+msg)
}

// request is one call to the stamp.
type request struct {
	op        string // for errors: "import secret pkg/name"
	method    string
	url       string
	body      []byte // JSON, or nil
	unsafe    bool   // changes state; see callInfo
	anonymous bool   // no token (discovery)
	secrets   []string
}

// send performs r and returns the response if its status is 2xx, else an
// *Error. The response body is already in memory (azcore downloads it).
func (c *Client) send(ctx context.Context, r request) (*http.Response, error) {
	red := c.secrets.with(r.secrets...)
	req, err := runtime.NewRequest(ctx, r.method, r.url)
	if err != nil {
		return nil, &Error{Stamp: c.stamp, Op: r.op, Err: err}
	}
	req.SetOperationValue(callInfo{unsafe: r.unsafe})
	req.Raw().Header.Set("Accept", "application/json")
	if r.body != nil {
		if err := req.SetBody(streaming.NopCloser(bytes.NewReader(r.body)), "application/json; charset=utf-8"); err != nil {
			return nil, &Error{Stamp: c.stamp, Op: r.op, Err: err}
		}
	}
	pl := c.pl
	if r.anonymous {
		pl = c.anon
	}
	resp, err := pl.Do(req)
	if err != nil {
		return nil, c.transportError(r.op, err, red)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, c.responseError(r.op, resp, red)
	}
	return resp, nil
}

// payload returns the downloaded body of resp.
func payload(resp *http.Response) ([]byte, error) { return runtime.Payload(resp) }

// onStamp checks that a URL the stamp handed out (an operation URL, a
// nextLink, a journalled URL) points at the stamp itself, so the bearer
// token is never sent anywhere else.
func (c *Client) onStamp(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%q is not a URL", raw)
	}
	if !strings.EqualFold(u.Scheme, "https") || !strings.EqualFold(u.Host, c.endpoint.Host) {
		return nil, fmt.Errorf("URL %s://%s%s is not on the stamp's endpoint %s; refusing to send credentials there",
			u.Scheme, u.Host, u.Path, c.endpoint.Host)
	}
	return u, nil
}

// providerSubscriptionName is the display name of the subscription that
// holds the admin resource providers.
const providerSubscriptionName = "Default Provider Subscription"

// SubscriptionID returns the Default Provider Subscription's id: the
// configured one, or the one found by display name on first use.
func (c *Client) SubscriptionID(ctx context.Context) (string, error) {
	c.subMu.Lock()
	defer c.subMu.Unlock()
	if c.sub != "" {
		return c.sub, nil
	}
	type subscription struct {
		ID             string `json:"id"`
		SubscriptionID string `json:"subscriptionId"`
		DisplayName    string `json:"displayName"`
		State          string `json:"state"`
	}
	const op = "find the Default Provider Subscription"
	subs, err := listAll[subscription](ctx, c, op, c.base+"/subscriptions?api-version=2016-05-01")
	if err != nil {
		return "", err
	}
	var names []string
	for _, s := range subs {
		if strings.EqualFold(strings.TrimSpace(s.DisplayName), providerSubscriptionName) && s.SubscriptionID != "" {
			c.sub = s.SubscriptionID
			return c.sub, nil
		}
		names = append(names, fmt.Sprintf("%q", s.DisplayName))
	}
	return "", &Error{Stamp: c.stamp, Op: op, Message: fmt.Sprintf("no subscription named %q is visible to this identity "+
		"(it sees %d: %s); grant it rights on the Default Provider Subscription or set subscription_id",
		providerSubscriptionName, len(subs), strings.Join(names, ", "))}
}

// maxPages bounds the pages of a list, against a nextLink loop.
const maxPages = 1000

// listAll GETs first and every nextLink after it and returns all values.
func listAll[T any](ctx context.Context, c *Client, op, first string) ([]T, error) {
	var out []T
	next := first
	for page := 0; next != ""; page++ {
		if page == maxPages {
			return nil, &Error{Stamp: c.stamp, Op: op, Message: fmt.Sprintf("more than %d pages of results", maxPages)}
		}
		if page > 0 {
			if _, err := c.onStamp(next); err != nil {
				return nil, &Error{Stamp: c.stamp, Op: op, Message: "nextLink: " + err.Error()}
			}
		}
		resp, err := c.send(ctx, request{op: op, method: http.MethodGet, url: next})
		if err != nil {
			return nil, err
		}
		values, link, err := decodeList[T](resp)
		if err != nil {
			return nil, &Error{Stamp: c.stamp, Op: op, StatusCode: resp.StatusCode, Message: "unreadable response", Err: err}
		}
		out = append(out, values...)
		next = link
	}
	return out, nil
}

// decodeList reads one page of a list: ARM's {"value": […], "nextLink"}
// envelope, which the specification's schemas declare, or a bare array, which
// its own ProductDeployment/List.json example shows (no nextLink then).
func decodeList[T any](resp *http.Response) ([]T, string, error) {
	var raw json.RawMessage
	if err := decodeJSON(resp, &raw); err != nil {
		return nil, "", err
	}
	if trimmed := bytes.TrimSpace(raw); len(trimmed) > 0 && trimmed[0] == '[' {
		var values []T
		err := json.Unmarshal(trimmed, &values)
		return values, "", err
	}
	var body struct {
		Value    []T    `json:"value"`
		NextLink string `json:"nextLink"`
	}
	err := json.Unmarshal(raw, &body)
	return body.Value, body.NextLink, err
}

// getJSON GETs url and decodes the body into a new T.
func getJSON[T any](ctx context.Context, c *Client, op, url string) (*T, error) {
	resp, err := c.send(ctx, request{op: op, method: http.MethodGet, url: url})
	if err != nil {
		return nil, err
	}
	v := new(T)
	if err := decodeJSON(resp, v); err != nil {
		return nil, &Error{Stamp: c.stamp, Op: op, StatusCode: resp.StatusCode, Message: "unreadable response", Err: err}
	}
	return v, nil
}
