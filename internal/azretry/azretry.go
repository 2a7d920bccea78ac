// Package azretry is the retry loop of runbook's azcore pipelines, the Hub
// client's and the blob state backend's. Every wait is on the injected
// clock, so a test's fake clock drives it and nothing sleeps in real time;
// which answers are worth another try is each caller's own rule.
package azretry

import (
	"net/http"
	"strconv"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/runbook-dev/runbook/clock"
)

// Decide says, after try number try (from 1) answered with resp or err,
// whether to send the request again and after how long.
type Decide func(resp *http.Response, err error, try int) (delay time.Duration, again bool)

// Loop sends requests down the rest of an azcore pipeline again while its
// Decide says so.
type Loop struct {
	Clock      clock.Clock
	MaxRetries int    // only for the log line: Decide enforces it
	Lost       string // what a try without a response is called in the log
	Logf       func(format string, args ...any)
}

// Do sends req, and again after each delay decide asks for, draining the
// response it gives up on; it stops at once when req's context ends.
func (l Loop) Do(req *policy.Request, decide Decide) (*http.Response, error) {
	ctx := req.Raw().Context()
	for try := 1; ; try++ {
		if err := req.RewindBody(); err != nil {
			return nil, err
		}
		resp, err := req.Clone(ctx).Next()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		delay, again := decide(resp, err, try)
		if !again {
			return resp, err
		}
		what := l.Lost
		if resp != nil {
			what = "HTTP " + strconv.Itoa(resp.StatusCode)
			runtime.Drain(resp)
		}
		l.Logf("%s %s: %s, retry %d of %d in %s", req.Raw().Method, req.Raw().URL.Path, what, try, l.MaxRetries, delay)
		if err := l.Clock.Sleep(ctx, delay); err != nil {
			return nil, err
		}
	}
}
