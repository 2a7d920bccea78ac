package hub

import (
	"context"
	"crypto/x509"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/runbook-dev/runbook/clock"
)

const listDeployments = "GET " + armPrefix + "/productDeployments"

// TestFaults injects transient faults into the deployments list and checks
// what the client waited and what it returned.
func TestFaults(t *testing.T) {
	storm := func(n int) *fault {
		return &fault{match: listDeployments, times: n, status: 500,
			body: `{"error":{"code":"InternalServerError","message":"The server encountered an internal error."}}`}
	}
	tests := map[string]struct {
		fault    *fault
		wantErr  string
		wantTry  int
		checkWts func(t *testing.T, waits []time.Duration)
	}{
		"429 with Retry-After": {
			fault:   &fault{match: listDeployments, times: 2, status: 429, header: map[string]string{"Retry-After": "7"}},
			wantTry: 3,
			checkWts: func(t *testing.T, waits []time.Duration) {
				if diff := cmp.Diff([]time.Duration{7 * time.Second, 7 * time.Second}, waits); diff != "" {
					t.Errorf("waits (-want +got)\n%s", diff)
				}
			},
		},
		"429 with retry-after-ms": {
			fault:   &fault{match: listDeployments, times: 1, status: 429, header: map[string]string{"x-ms-retry-after-ms": "1500"}},
			wantTry: 2,
			checkWts: func(t *testing.T, waits []time.Duration) {
				if diff := cmp.Diff([]time.Duration{1500 * time.Millisecond}, waits); diff != "" {
					t.Errorf("waits (-want +got)\n%s", diff)
				}
			},
		},
		"503 asking for longer than MaxDelay is not retried": {
			fault:   &fault{match: listDeployments, times: 1, status: 503, header: map[string]string{"Retry-After": "3600"}},
			wantTry: 1,
			wantErr: "hub east: list product deployments: Service Unavailable (HTTP 503)",
		},
		"500 storm that passes": {fault: storm(3), wantTry: 4, checkWts: backoffWaits(1, 2, 4)},
		"500 storm that does not pass": {fault: storm(10), wantTry: 5, checkWts: backoffWaits(1, 2, 4, 8),
			wantErr: "hub east: list product deployments: InternalServerError: The server encountered an internal error. (HTTP 500)"},
		"501 is not retried": {fault: &fault{match: listDeployments, times: 1, status: 501}, wantTry: 1,
			wantErr: "hub east: list product deployments: Not Implemented (HTTP 501)"},
		// net/http itself repeats a GET whose reused connection was reset, so
		// the waits depend on connection reuse; the tries do not.
		"connection resets": {fault: &fault{match: listDeployments, times: 2, reset: true}, wantTry: 3},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			st, c, log := newFixture(t, true)
			if _, err := c.SubscriptionID(context.Background()); err != nil {
				t.Fatal(err)
			}
			st.addFault(tc.fault)
			var err error
			waits := onFakeClock(t, st.clock, func() { _, err = c.ListProductDeployments(context.Background()) })
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("err = %v", err)
			case tc.wantErr != "" && (err == nil || err.Error() != tc.wantErr):
				t.Fatalf("err = %v, want %s", err, tc.wantErr)
			}
			if got := st.callsMatching(listDeployments); got != tc.wantTry {
				t.Errorf("%d tries, want %d\n%s", got, tc.wantTry, log)
			}
			if tc.checkWts != nil {
				tc.checkWts(t, waits)
			}
		})
	}
}

// backoffWaits checks exponential back-off of 1s·2^n with ±20% jitter.
func backoffWaits(seconds ...int) func(*testing.T, []time.Duration) {
	return func(t *testing.T, waits []time.Duration) {
		t.Helper()
		if len(waits) != len(seconds) {
			t.Fatalf("waits = %v, want %d", waits, len(seconds))
		}
		for i, s := range seconds {
			base := time.Duration(s) * time.Second
			if waits[i] < base*8/10 || waits[i] > base*12/10 {
				t.Errorf("wait %d = %s, want %s ±20%%", i, waits[i], base)
			}
		}
	}
}

// TestRotateResetIsNotRepeated: a reset after rotateSecrets was sent leaves
// its outcome unknown, so it is reported and not sent again.
func TestRotateResetIsNotRepeated(t *testing.T) {
	st, c, _ := newFixture(t, true)
	st.addFault(&fault{match: "/rotateSecrets", times: 1, reset: true})
	var err error
	waits := onFakeClock(t, st.clock, func() { _, err = c.RotateSecrets(context.Background(), "microsoft.eventhub") })
	if !errors.Is(err, ErrOutcomeUnknown) {
		t.Fatalf("err = %v, want ErrOutcomeUnknown", err)
	}
	if n := st.callsMatching("/rotateSecrets"); n != 1 || len(waits) != 0 {
		t.Errorf("rotateSecrets sent %d times after %d waits, want once", n, len(waits))
	}
	if !strings.Contains(err.Error(), "read the product deployment's status") {
		t.Errorf("error gives no advice: %v", err)
	}
}

// TestRotate503IsRepeated: a 503 means the stamp did not act, so
// rotateSecrets is retried.
func TestRotate503IsRepeated(t *testing.T) {
	st, c, _ := newFixture(t, true)
	st.addFault(&fault{match: "/rotateSecrets", times: 1, status: 503, header: map[string]string{"Retry-After": "30"}})
	var err error
	waits := onFakeClock(t, st.clock, func() { _, err = c.RotateSecrets(context.Background(), "microsoft.eventhub") })
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]time.Duration{30 * time.Second}, waits); diff != "" {
		t.Errorf("waits (-want +got)\n%s", diff)
	}
}

// TestPollRidesOutOutage: polls that keep failing are reported and
// retried until PollErrorLimit in a row.
func TestPollRidesOutOutage(t *testing.T) {
	tests := map[string]struct {
		failures int
		wantErr  bool
	}{
		"short outage": {failures: 3},
		"long outage":  {failures: 100, wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			st, c, _ := newFixture(t, true, func(cfg *Config) {
				cfg.Retry.MaxRetries = -1
				cfg.PollErrorLimit = 5
			})
			st.rotation = 10 * time.Minute
			ctx := context.Background()
			op, err := c.RotateSecrets(ctx, "microsoft.eventhub")
			if err != nil {
				t.Fatal(err)
			}
			st.addFault(&fault{match: "/operationResults/op-0001", times: tc.failures, status: 502})
			var failed int
			onFakeClock(t, st.clock, func() {
				_, err = c.PollOperation(ctx, op, func(p Progress) {
					if p.Err != nil {
						failed++
					}
				})
			})
			if tc.wantErr {
				var e *Error
				if !errors.As(err, &e) || e.StatusCode != http.StatusBadGateway || failed != 4 {
					t.Errorf("err = %v after %d reported failures, want HTTP 502 after 4", err, failed)
				}
				return
			}
			if err != nil || failed != tc.failures {
				t.Errorf("err = %v, %d failures reported, want nil and %d", err, failed, tc.failures)
			}
		})
	}
}

// TestTLS: the stamp's own CA is required; without it (or with another CA)
// New fails at discovery with the x509 error, at once and without retries;
// Insecure works but is never silent.
func TestTLS(t *testing.T) {
	other, err := newOtherCAPEM()
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		mod         func(*Config)
		wantUnknown bool
		wantWarning bool
	}{
		"stamp CA":         {mod: func(*Config) {}},
		"system roots":     {mod: func(c *Config) { c.CAPEM = nil }, wantUnknown: true},
		"another CA":       {mod: func(c *Config) { c.CAPEM = other }, wantUnknown: true},
		"insecure":         {mod: func(c *Config) { c.CAPEM, c.Insecure = nil, true }, wantWarning: true},
		"insecure with CA": {mod: func(c *Config) { c.Insecure = true }, wantWarning: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			st := newStamp(t, clock.NewFake(epoch), true)
			log := &logBuf{}
			cfg := testConfig(st, log)
			tc.mod(&cfg)
			c, err := New(context.Background(), cfg)
			var unknown x509.UnknownAuthorityError
			if got := errors.As(err, &unknown); got != tc.wantUnknown {
				t.Fatalf("err = %v, want x509 unknown authority: %v", err, tc.wantUnknown)
			}
			if tc.wantUnknown {
				if !strings.HasPrefix(err.Error(), "hub east: discover endpoints: ") {
					t.Errorf("err = %v", err)
				}
				if n := strings.Count(log.String(), "GET /metadata/endpoints"); n != 1 {
					t.Errorf("%d attempts, want 1:\n%s", n, log)
				}
				return
			}
			if _, err := c.GetProductDeployment(context.Background(), "microsoft.eventhub"); err != nil {
				t.Fatal(err)
			}
			warned := strings.Contains(log.String(), "warning: hub east: TLS certificate verification is off")
			if warned != tc.wantWarning || (len(c.Warnings()) == 1) != tc.wantWarning {
				t.Errorf("warned in log %v, Warnings() = %q; want warning %v", warned, c.Warnings(), tc.wantWarning)
			}
		})
	}
}
