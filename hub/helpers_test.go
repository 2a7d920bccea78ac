package hub

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/clock"
	"github.com/runbook-dev/runbook/sim/certs"
)

// epoch starts every fake clock. It is the wall-clock time of the test run,
// so tokens issued by the (real-time) MSAL cache and by the stamp's
// (fake-time) token endpoint start out agreeing, as on a real stamp.
var epoch = time.Now().UTC().Truncate(time.Second)

// logBuf collects the client's log lines.
type logBuf struct {
	mu    sync.Mutex
	lines []string
}

func (l *logBuf) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// canaries are the secrets no output may contain, in the forms a leak
// could take.
var canaries = []string{
	canaryClientSecret, url.QueryEscape(canaryClientSecret),
	canaryPFXPassword, url.QueryEscape(canaryPFXPassword),
}

// assertNoLeak fails the test if any text holds a canary secret.
func assertNoLeak(t *testing.T, what string, texts ...string) {
	t.Helper()
	for _, text := range texts {
		for _, c := range canaries {
			if strings.Contains(text, c) {
				t.Errorf("%s leaks a secret: %s", what, text)
			}
		}
	}
}

// testConfig is a client_secret configuration for st.
func testConfig(st *stamp, log *logBuf) Config {
	tenant := testEntraTenant
	if st.adfs {
		tenant = "adfs"
	}
	return Config{
		Name:     "east",
		Endpoint: st.srv.URL,
		CAPEM:    st.ca.CertPEM(),
		Auth: Auth{Method: AuthClientSecret, Tenant: tenant, ClientID: testClientID,
			ClientSecret: canaryClientSecret, CertificatePassword: canaryPFXPassword},
		Clock:  st.clock,
		Logger: log.logf,
	}
}

// newClient builds a client for st, applying mods to the configuration, and
// checks at cleanup that its log never held a secret.
func newClient(t *testing.T, st *stamp, mods ...func(*Config)) (*Client, *logBuf) {
	t.Helper()
	log := &logBuf{}
	cfg := testConfig(st, log)
	for _, m := range mods {
		m(&cfg)
	}
	c, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { assertNoLeak(t, "log", log.String()) })
	return c, log
}

// onFakeClock runs fn in a goroutine and, whenever fn waits on f, moves f
// to the end of that wait. It returns the waits in order. Time moves only
// when fn sleeps, so the test is deterministic and takes no real time.
func onFakeClock(t *testing.T, f *clock.Fake, fn func()) []time.Duration {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer cancel()
		fn()
	}()
	var waits []time.Duration
	for f.BlockUntil(ctx, 1) == nil {
		if next, ok := f.Next(); ok {
			waits = append(waits, next.Sub(f.Now()))
			f.AdvanceTo(next)
		}
	}
	<-done
	return waits
}

// newFixture starts a stamp and a client for it.
func newFixture(t *testing.T, adfs bool, mods ...func(*Config)) (*stamp, *Client, *logBuf) {
	t.Helper()
	st := newStamp(t, clock.NewFake(epoch), adfs)
	c, log := newClient(t, st, mods...)
	return st, c, log
}

// goodPFX issues a certificate the stamp accepts, protected by the canary.
func goodPFX(t *testing.T, st *stamp) []byte {
	t.Helper()
	pfx, err := st.ca.IssuePFX(certs.PFXOptions{Hosts: []string{"*.eventhub.local.azurestack.external"},
		Now: epoch, Password: canaryPFXPassword})
	if err != nil {
		t.Fatal(err)
	}
	return pfx
}

func newFakeClock() *clock.Fake { return clock.NewFake(epoch) }

func itoa(n int64) string { return fmt.Sprint(n) }

// newOtherCAPEM returns the PEM of a root the stamp's certificate does not
// chain to.
func newOtherCAPEM() ([]byte, error) {
	ca, err := certs.NewCA(certs.OtherCAName, time.Unix(0, 0), time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		return nil, err
	}
	return ca.CertPEM(), nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
