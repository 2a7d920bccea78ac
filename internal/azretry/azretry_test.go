package azretry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/google/go-cmp/cmp"
	"github.com/runbook-dev/runbook/clock"
)

// replies is a transport answering each request with the next status, 0
// meaning a lost connection.
type replies struct {
	statuses []int
	sent     int
}

func (r *replies) Do(req *http.Request) (*http.Response, error) {
	s := r.statuses[min(r.sent, len(r.statuses)-1)]
	r.sent++
	if s == 0 {
		return nil, errors.New("connection reset")
	}
	return &http.Response{StatusCode: s, Body: io.NopCloser(strings.NewReader("")), Request: req, Header: http.Header{}}, nil
}

// policyFunc lets a test put a Loop into a pipeline.
type policyFunc func(*policy.Request) (*http.Response, error)

func (f policyFunc) Do(req *policy.Request) (*http.Response, error) { return f(req) }

// retryUnavailable retries 503 and lost connections up to twice, a second apart.
func retryUnavailable(resp *http.Response, err error, try int) (time.Duration, bool) {
	if try > 2 {
		return 0, false
	}
	return time.Second, err != nil || resp.StatusCode == http.StatusServiceUnavailable
}

func TestLoop(t *testing.T) {
	tests := map[string]struct {
		statuses   []int
		wantStatus int
		wantErr    bool
		wantSent   int
		wantLog    []string
	}{
		"first answer kept": {statuses: []int{200}, wantStatus: 200, wantSent: 1},
		"retried until it answers": {statuses: []int{503, 0, 200}, wantStatus: 200, wantSent: 3,
			wantLog: []string{"GET /x: HTTP 503, retry 1 of 2 in 1s", "GET /x: lost, retry 2 of 2 in 1s"}},
		"gives up after the retries": {statuses: []int{503}, wantStatus: 503, wantSent: 3,
			wantLog: []string{"GET /x: HTTP 503, retry 1 of 2 in 1s", "GET /x: HTTP 503, retry 2 of 2 in 1s"}},
		"not retried when decide says no": {statuses: []int{404}, wantStatus: 404, wantSent: 1},
		"a lost connection at the end is the error": {statuses: []int{0}, wantErr: true, wantSent: 3,
			wantLog: []string{"GET /x: lost, retry 1 of 2 in 1s", "GET /x: lost, retry 2 of 2 in 1s"}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			fake := clock.NewFake(time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC))
			var log []string
			loop := Loop{Clock: fake, MaxRetries: 2, Lost: "lost", Logf: func(f string, a ...any) {
				log = append(log, fmt.Sprintf(f, a...))
				go func() { // end the wait that follows the log line, once it has begun
					if fake.BlockUntil(context.Background(), 1) == nil {
						fake.Advance(time.Second)
					}
				}()
			}}
			tr := &replies{statuses: tt.statuses}
			pl := runtime.NewPipeline("azretry", "test", runtime.PipelineOptions{},
				&policy.ClientOptions{Transport: tr, Retry: policy.RetryOptions{MaxRetries: -1},
					PerRetryPolicies: []policy.Policy{policyFunc(func(req *policy.Request) (*http.Response, error) {
						return loop.Do(req, retryUnavailable)
					})}})
			req, err := runtime.NewRequest(context.Background(), http.MethodGet, "https://stamp.test/x")
			if err != nil {
				t.Fatal(err)
			}
			resp, err := pl.Do(req)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want an error: %v", err, tt.wantErr)
			}
			if err == nil && resp.StatusCode != tt.wantStatus {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if tr.sent != tt.wantSent {
				t.Errorf("sent %d requests, want %d", tr.sent, tt.wantSent)
			}
			if diff := cmp.Diff(tt.wantLog, log); diff != "" {
				t.Errorf("log (-want +got):\n%s", diff)
			}
		})
	}
}

// TestLoopStopsWithItsContext: a request whose context ends while it
// waits to retry returns at once with the context's error.
func TestLoopStopsWithItsContext(t *testing.T) {
	fake := clock.NewFake(time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC))
	ctx, cancel := context.WithCancel(context.Background())
	loop := Loop{Clock: fake, MaxRetries: 2, Lost: "lost", Logf: func(string, ...any) { cancel() }}
	tr := &replies{statuses: []int{503}}
	pl := runtime.NewPipeline("azretry", "test", runtime.PipelineOptions{},
		&policy.ClientOptions{Transport: tr, Retry: policy.RetryOptions{MaxRetries: -1},
			PerRetryPolicies: []policy.Policy{policyFunc(func(req *policy.Request) (*http.Response, error) {
				return loop.Do(req, retryUnavailable)
			})}})
	req, err := runtime.NewRequest(ctx, http.MethodGet, "https://stamp.test/x")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pl.Do(req); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if tr.sent != 1 {
		t.Errorf("sent %d requests, want 1", tr.sent)
	}
}
