package azurerm

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/clock"
	"github.com/runbook-dev/runbook/executor/journal"
	"github.com/runbook-dev/runbook/executor/lock"
	"github.com/runbook-dev/runbook/internal/azuritetest"
	"github.com/runbook-dev/runbook/state"
	"github.com/runbook-dev/runbook/state/statetest"
)

func TestMain(m *testing.M) { os.Exit(azuritetest.Main(m)) }

var testKey = bytes.Repeat([]byte{7}, 32)

// newBackend returns a backend on a fresh container of the shared Azurite,
// with cfg's transport, clock and key where set.
func newBackend(t *testing.T, container string, cfg Config) *Backend {
	t.Helper()
	s := azuritetest.Shared(t)
	cfg.Account, cfg.Endpoint, cfg.Container = azuritetest.Account, s.Endpoint, container
	if cfg.Key == "" {
		cfg.Key = "east/quarterly"
	}
	if cfg.AccessKey == "" && cfg.SASToken == "" {
		cfg.AccessKey = azuritetest.Key
	}
	if cfg.PlanKey == nil {
		cfg.PlanKey = testKey
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.NewFake(time.Date(2026, 11, 28, 23, 0, 0, 0, time.UTC))
	}
	b, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestContract(t *testing.T) {
	statetest.Run(t, func(t *testing.T) func() state.Backend {
		_, name := azuritetest.Container(t)
		return func() state.Backend { return newBackend(t, name, Config{}) }
	})
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// faults is a transport between the backend and Azurite that counts
// requests and injects faults by request.
type faults struct {
	next http.Client
	mu   sync.Mutex
	// fault, if set, decides for each request: "" to pass it on, "drop"
	// to forward it and lose the reply (an ambiguous write), "503" or
	// "429" to answer so without forwarding.
	fault    func(r *http.Request) string
	versions []string // every x-ms-version header list seen
	injected int      // faults injected
}

func (f *faults) Do(r *http.Request) (*http.Response, error) {
	f.mu.Lock()
	//lint:ignore SA1008 the SDK sets the raw lower-case key, and so does the pinning policy
	f.versions = append(f.versions, strings.Join(r.Header["x-ms-version"], ","))
	if n := len(r.Header["X-Ms-Version"]); n > 0 {
		f.versions = append(f.versions, "canonical header sent too")
	}
	what := ""
	if f.fault != nil {
		what = f.fault(r)
	}
	if what != "" {
		f.injected++
	}
	f.mu.Unlock()
	switch what {
	case "drop":
		resp, err := f.next.Do(r)
		if err == nil {
			resp.Body.Close()
		}
		return nil, errors.New("connection reset by peer (injected after the request was served)")
	case "503", "429":
		code := http.StatusServiceUnavailable
		if what == "429" {
			code = http.StatusTooManyRequests
		}
		return &http.Response{StatusCode: code, Status: http.StatusText(code), Header: http.Header{"Retry-After": {"1"}},
			Body: http.NoBody, Request: r}, nil
	}
	return f.next.Do(r)
}

// once returns a fault function that answers what for the first request
// matching match, and passes every other request.
func once(match func(r *http.Request) bool, what string) func(*http.Request) string {
	var done atomic.Bool
	return func(r *http.Request) string {
		if match(r) && done.CompareAndSwap(false, true) {
			return what
		}
		return ""
	}
}

func isAppend(r *http.Request) bool { return r.URL.Query().Get("comp") == "appendblock" }

// TestAmbiguousAppend: the reply to an append is lost after Azurite stored
// it; the retry finds it there and no record is written twice.
func TestAmbiguousAppend(t *testing.T) {
	_, name := azuritetest.Container(t)
	tr := &faults{}
	clk := clock.NewFake(time.Date(2026, 11, 28, 23, 0, 0, 0, time.UTC))
	b := newBackend(t, name, Config{Transport: tr, Clock: clk, Retry: RetryOptions{Delay: time.Millisecond, MaxDelay: time.Millisecond}})
	j, err := b.CreateJournal(ctx(t), "r1", clk)
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Append(journal.Record{Type: journal.RunStarted}); err != nil {
		t.Fatal(err)
	}
	tr.mu.Lock()
	tr.fault = once(isAppend, "drop")
	tr.mu.Unlock()
	done := make(chan error, 1)
	go func() { done <- j.Append(journal.Record{Type: journal.StepIntent, Step: "step.bmc", Attempt: 1}) }()
	advanceUntil(t, clk, done)
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if tr.injected != 1 {
		t.Fatalf("%d replies dropped, want 1", tr.injected)
	}
	data, err := b.ReadJournal(ctx(t), "r1")
	if err != nil {
		t.Fatal(err)
	}
	recs, err := journal.Parse(data)
	if err != nil || len(recs) != 2 {
		t.Fatalf("journal after a lost reply: %d records, %v; want 2 records in a chain", len(recs), err)
	}
}

// advanceUntil moves the fake clock on (for the retry policy's waits)
// until done delivers, and fails the test on its error.
func advanceUntil(t *testing.T, clk *clock.Fake, done <-chan error) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			return
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("no result within 20s")
		}
		clk.Advance(time.Second)
		time.Sleep(time.Millisecond)
	}
}

// TestThrottledAndFailing: 429 and 503 are retried on the clock.
func TestThrottledAndFailing(t *testing.T) {
	for _, code := range []string{"429", "503"} {
		t.Run(code, func(t *testing.T) {
			_, name := azuritetest.Container(t)
			n := 0
			tr := &faults{fault: func(r *http.Request) string {
				if n < 2 {
					n++
					return code
				}
				return ""
			}}
			clk := clock.NewFake(time.Date(2026, 11, 28, 23, 0, 0, 0, time.UTC))
			b := newBackend(t, name, Config{Transport: tr, Clock: clk})
			done := make(chan error, 1)
			go func() { _, err := b.WriteDocument(ctx(t), []byte("{}"), ""); done <- err }()
			advanceUntil(t, clk, done)
			if n != 2 {
				t.Errorf("%d faults injected, want 2", n)
			}
		})
	}
}

// TestServiceVersion: every request, retries included, carries exactly
// one x-ms-version, the pinned one.
func TestServiceVersion(t *testing.T) {
	_, name := azuritetest.Container(t)
	tr := &faults{fault: once(isAppend, "503")}
	clk := clock.NewFake(time.Date(2026, 11, 28, 23, 0, 0, 0, time.UTC))
	b := newBackend(t, name, Config{Transport: tr, Clock: clk})
	done := make(chan error, 1)
	go func() {
		j, err := b.CreateJournal(ctx(t), "r1", clk)
		if err == nil {
			err = j.Append(journal.Record{Type: journal.RunStarted})
			j.Close()
		}
		if err == nil {
			var l state.Lease
			l, err = b.Lock(ctx(t), "runbook", lock.Holder{PID: 1})
			if err == nil {
				err = l.Release(ctx(t))
			}
		}
		done <- err
	}()
	advanceUntil(t, clk, done)
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if len(tr.versions) < 5 {
		t.Fatalf("only %d requests seen", len(tr.versions))
	}
	for i, v := range tr.versions {
		if v != DefaultServiceVersion {
			t.Errorf("request %d: x-ms-version %q, want exactly %q", i+1, v, DefaultServiceVersion)
		}
	}
}

// TestClearErrors: a missing container and a wrong access key are named.
func TestClearErrors(t *testing.T) {
	_, name := azuritetest.Container(t)
	tests := map[string]struct {
		cfg  Config
		want string
	}{
		"missing container": {Config{}, `the container "no-such-container" does not exist in storage account "devstoreaccount1"`},
		"wrong access key":  {Config{AccessKey: "d3JvbmcK"}, `refused the credential`},
	}
	for n, tc := range tests {
		t.Run(n, func(t *testing.T) {
			c := name
			if n == "missing container" {
				c = "no-such-container"
			}
			b := newBackend(t, c, tc.cfg)
			_, _, err := b.ReadDocument(ctx(t))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to say %q", err, tc.want)
			}
			if strings.Contains(err.Error(), azuritetest.Key) || strings.Contains(err.Error(), "d3JvbmcK") {
				t.Errorf("the error quotes the key: %v", err)
			}
		})
	}
}

// TestWrongPlanKey: a machine with another key is refused.
func TestWrongPlanKey(t *testing.T) {
	_, name := azuritetest.Container(t)
	if _, err := newBackend(t, name, Config{}).Key(ctx(t)); err != nil {
		t.Fatal(err)
	}
	_, err := newBackend(t, name, Config{PlanKey: bytes.Repeat([]byte{8}, 32)}).Key(ctx(t))
	if err == nil || !strings.Contains(err.Error(), "is not the key this backend's runs were made with") {
		t.Fatalf("Key with another key = %v", err)
	}
	if _, err := newBackend(t, name, Config{PlanKey: []byte{}}).Key(ctx(t)); !errors.Is(err, ErrNoKey) {
		t.Fatalf("Key without a key = %v, want ErrNoKey", err)
	}
}

// TestLeaseRenewedAndBroken: the lease is renewed on the clock past its
// duration, and a broken lease is reported lost at the next renewal.
func TestLeaseRenewedAndBroken(t *testing.T) {
	_, name := azuritetest.Container(t)
	clk := clock.NewFake(time.Date(2026, 11, 28, 23, 0, 0, 0, time.UTC))
	a := newBackend(t, name, Config{Clock: clk})
	l, err := a.Lock(ctx(t), "runbook", lock.Holder{PID: 1, Host: "a"})
	if err != nil {
		t.Fatal(err)
	}
	before := a.Stats().Requests
	for range 5 { // 75 s on the clock: longer than a lease
		if err := clk.BlockUntil(ctx(t), 1); err != nil {
			t.Fatal(err)
		}
		clk.Advance(state.RenewEvery)
	}
	if err := clk.BlockUntil(ctx(t), 1); err != nil {
		t.Fatal(err)
	}
	if got := a.Stats().Requests - before; got < 5 {
		t.Errorf("%d requests during 5 renewal periods, want a renewal each", got)
	}
	select {
	case <-l.Lost():
		t.Fatalf("lease lost while renewed: %v", l.Err())
	default:
	}
	if err := newBackend(t, name, Config{}).BreakLock(ctx(t), "runbook", lock.Holder{PID: 1, Host: "a"}); err != nil {
		t.Fatalf("BreakLock: %v", err)
	}
	clk.Advance(state.RenewEvery)
	select {
	case <-l.Lost():
		if !strings.Contains(l.Err().Error(), "broken or taken") {
			t.Errorf("Err = %v", l.Err())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a broken lease was not reported lost")
	}
	if err := l.Release(ctx(t)); err != nil {
		t.Errorf("Release of a lost lease: %v", err)
	}
	l2, err := newBackend(t, name, Config{}).Lock(ctx(t), "runbook", lock.Holder{PID: 2})
	if err != nil {
		t.Fatalf("Lock after the break: %v", err)
	}
	l2.Release(ctx(t))
}

func TestCheckEndpoint(t *testing.T) {
	tests := map[string]bool{
		"https://azsstate.blob.east.contoso.com":      true,
		"http://127.0.0.1:10000/devstoreaccount1":     true,
		"http://localhost:10000/devstoreaccount1":     true,
		"http://[::1]:10000/devstoreaccount1":         true,
		"http://azsstate.blob.east.contoso.com":       false,
		"ftp://x":                                     false,
		"https://azsstate.blob.core.windows.net?sv=1": false,
		"azsstate": false,
	}
	for in, ok := range tests {
		if err := CheckEndpoint(in); (err == nil) != ok {
			t.Errorf("CheckEndpoint(%q) = %v, want ok=%v", in, err, ok)
		}
	}
}

// TestLeaseRenewalFails: renewals that keep failing (the service answers
// 503) until the lease may have run out make the lease lost, so the
// apply starts no further step.
func TestLeaseRenewalFails(t *testing.T) {
	_, name := azuritetest.Container(t)
	var failing atomic.Bool
	tr := &faults{fault: func(r *http.Request) string {
		if failing.Load() && rawHeader(r, "x-ms-lease-action") == "renew" {
			return "503"
		}
		return ""
	}}
	clk := clock.NewFake(time.Date(2026, 11, 28, 23, 0, 0, 0, time.UTC))
	b := newBackend(t, name, Config{Transport: tr, Clock: clk, Retry: RetryOptions{MaxRetries: 1, Delay: time.Millisecond, MaxDelay: time.Millisecond}})
	l, err := b.Lock(ctx(t), "runbook", lock.Holder{PID: 1, Host: "a"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release(ctx(t))
	failing.Store(true)
	deadline := time.Now().Add(20 * time.Second)
	for advanced := time.Duration(0); ; {
		select {
		case <-l.Lost():
			if advanced < state.LeaseDuration-leaseMargin {
				t.Fatalf("lease lost after %s of failed renewals, before it could have run out", advanced)
			}
			if !strings.Contains(l.Err().Error(), "could not be renewed") {
				t.Errorf("Err = %v", l.Err())
			}
			if tr.injected < 3 {
				t.Errorf("%d renewals failed, want at least 3", tr.injected)
			}
			return
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("lease not lost after %s of failed renewals", advanced)
		}
		clk.Advance(time.Second)
		advanced += time.Second
		time.Sleep(2 * time.Millisecond)
	}
}

// rawHeader reads a header whatever the case of its key: the SDK sets
// x-ms-* headers under raw lower-case keys, which Header.Get misses.
func rawHeader(r *http.Request, name string) string {
	for k, v := range r.Header {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

// TestAmbiguousWrites: the replies to the first write of the state
// document and of a plan's consumption mark are lost after Azurite stored
// them; the retries fail their conditions, and the read-back recognises
// our own writes: no false "changed" or "applied already".
func TestAmbiguousWrites(t *testing.T) {
	_, name := azuritetest.Container(t)
	isPut := func(suffix string) func(r *http.Request) bool {
		return func(r *http.Request) bool {
			return r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, suffix) && r.URL.RawQuery == ""
		}
	}
	clk := clock.NewFake(time.Date(2026, 11, 28, 23, 0, 0, 0, time.UTC))
	for _, tc := range []struct {
		name, suffix string
		write        func(b *Backend) error
	}{
		{"document", "/state.json", func(b *Backend) error { _, err := b.WriteDocument(ctx(t), []byte(`{"v":1}`), ""); return err }},
		{"consumption", "/plans/p1.applied", func(b *Backend) error { return b.ConsumePlan(ctx(t), "p1") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := &faults{fault: once(isPut(tc.suffix), "drop")}
			b := newBackend(t, name, Config{Transport: tr, Clock: clk, Retry: RetryOptions{Delay: time.Millisecond, MaxDelay: time.Millisecond}})
			done := make(chan error, 1)
			go func() { done <- tc.write(b) }()
			advanceUntil(t, clk, done)
			if tr.injected != 1 {
				t.Fatalf("%d replies dropped, want 1", tr.injected)
			}
		})
	}
	if err := newBackend(t, name, Config{}).ConsumePlan(ctx(t), "p1"); !errors.Is(err, state.ErrConsumed) {
		t.Errorf("consuming the plan again from another machine = %v, want ErrConsumed", err)
	}
}
