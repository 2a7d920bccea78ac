package steps

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
	"github.com/runbook-dev/runbook/clock"
	"github.com/runbook-dev/runbook/executor"
	"github.com/runbook-dev/runbook/hub"
	"github.com/runbook-dev/runbook/lang"
	simhub "github.com/runbook-dev/runbook/sim/hub"
	"github.com/runbook-dev/runbook/state"
	"github.com/zclconf/go-cty/cty"
)

// epoch starts every fake clock. It is the wall-clock time of the run, so
// that the token cache of azidentity (which judges expiry by the wall clock)
// and the stamp (which judges it by the fake clock) start out agreeing.
var epoch = time.Now().UTC().Truncate(time.Second)

// Canaries: planted secrets that must never appear in any output.
const (
	testClientID      = "3c9d2b7e-61f4-4a0e-8d55-2f7b1e9c4a06"
	canaryClientSecr  = "canary-client-secret-Zr7Kq2"
	canaryPFXPassword = "canary-pfx-password-Wm4Xb9"
)

// stampHost is the admin endpoint the test runbooks name: the simulated
// stamp's region "local" and domain "azurestack.external".
const stampEndpoint = "https://adminmanagement.local.azurestack.external"

// fixture is a simulated stamp on a fake clock, a runbook directory and the
// connections of a runbook loaded from it.
type fixture struct {
	t     *testing.T
	clk   *clock.Fake
	srv   *simhub.Server
	dir   string // the runbook directory, for PFX and CA files
	log   *logBuf
	key   []byte // the plan's HMAC key
	rb    *lang.Runbook
	conns *Conns
}

// fixtureOptions vary the stamp and how the runbook reaches it.
type fixtureOptions struct {
	scenario *simhub.Scenario
	// bypass points the runbook straight at the stamp's address (so the
	// certificate host cannot be derived) and gives the client the
	// stamp's root through its transport only (so the chain cannot be
	// checked locally): only the stamp's validate judges those.
	bypass bool
}

func newFixture(t *testing.T, o fixtureOptions) *fixture {
	t.Helper()
	clk := clock.NewFake(epoch)
	srv, err := simhub.Open(simhub.Options{
		Clock: clk, Scenario: o.scenario,
		Clients:       []simhub.Client{{ID: testClientID, Secret: canaryClientSecr}},
		TokenLifetime: 72 * time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	f := &fixture{t: t, clk: clk, srv: srv, dir: t.TempDir(), log: &logBuf{}, key: []byte("plan key")}
	t.Cleanup(func() { assertNoLeak(t, "hub log", f.log.String()) })
	return f
}

// load loads a runbook of the given step blocks, with a hub "east" block
// in front, and makes its connections. With bypass the hub is reached
// without an override.
func (f *fixture) load(o fixtureOptions, steps string) {
	f.t.Helper()
	endpoint := stampEndpoint
	if o.bypass {
		endpoint = f.srv.URL()
	}
	src := fmt.Sprintf(`
variable "pfx_password" {
  type      = string
  sensitive = true
}
variable "client_secret" {
  type      = string
  sensitive = true
}
hub "east" {
  endpoint = %q
  auth {
    method        = "client_secret"
    tenant        = "adfs"
    client_id     = %q
    client_secret = var.client_secret
  }
}
%s`, endpoint, testClientID, steps)
	fsys := fstest.MapFS{"main.runbook.hcl": {Data: []byte(src)}}
	rb, diags := lang.Load(fsys, ".", lang.Options{PlanTime: epoch, Vars: []lang.VarArg{
		{Name: "pfx_password", Value: canaryPFXPassword}, {Name: "client_secret", Value: canaryClientSecr},
	}})
	if diags.HasErrors() {
		f.t.Fatalf("load: %s", diags.Error())
	}
	// The CLI gives the runbook directory relative to the working
	// directory; here it is the test's temporary directory.
	rb.Dir = f.dir
	f.rb = rb
	opts := ConnOptions{Clock: f.clk, Logger: f.log.logf}
	if o.bypass {
		opts.HubOverride = func(_ string, cfg *hub.Config) {
			cfg.HTTPTransport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: f.srv.CA().Pool()}}
		}
	} else {
		opts.HubOverride = func(_ string, cfg *hub.Config) {
			cfg.Endpoint, cfg.CAPEM = f.srv.URL(), f.srv.CA().CertPEM()
		}
	}
	f.conns = NewConns(rb, opts)
	f.t.Cleanup(func() { f.conns.Close() })
}

// config decodes step name's body as the executor does.
func (f *fixture) config(t executor.StepType, name string) (cty.Value, hcl.Range) {
	f.t.Helper()
	s := f.rb.Steps[name]
	val, diags := executor.DecodeStep(s, t, f.rb.EvalContext(nil, cty.NilVal))
	if diags.HasErrors() {
		f.t.Fatalf("decode %s: %s", name, diags.Error())
	}
	return val, s.DeclRange
}

// fingerprint is the plan's HMAC.
func (f *fixture) fingerprint(b []byte) string {
	m := hmac.New(sha256.New, f.key)
	m.Write(b)
	return hex.EncodeToString(m.Sum(nil))
}

func (f *fixture) planRequest(t executor.StepType, name string, h *state.History, depsChange bool) *executor.PlanRequest {
	cfg, _ := f.config(t, name)
	s := f.rb.Steps[name]
	return &executor.PlanRequest{
		Address: s.Address(), Step: s, Config: cfg, Runbook: f.rb, Clock: f.clk,
		History: h, Fingerprint: f.fingerprint, DependenciesChange: depsChange,
	}
}

// run calls fn while moving the fake clock to each wait fn starts, so
// polls and back-offs take no real time; it returns when fn does.
func (f *fixture) run(fn func()) {
	f.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer cancel()
		fn()
	}()
	for f.clk.BlockUntil(ctx, 1) == nil {
		if next, ok := f.clk.Next(); ok {
			f.clk.AdvanceTo(next)
		}
	}
	<-done
}

// writeFile writes a file into the runbook directory.
func (f *fixture) writeFile(name string, data []byte) {
	f.t.Helper()
	if err := os.WriteFile(filepath.Join(f.dir, name), data, 0o600); err != nil {
		f.t.Fatal(err)
	}
}

// calls returns the stamp's request log as "METHOD path" lines whose path
// contains one of the fragments.
func (f *fixture) calls(fragments ...string) []string {
	var out []string
	for _, c := range f.srv.Calls() {
		for _, fr := range fragments {
			if strings.Contains(strings.ToLower(c.Path), strings.ToLower(fr)) {
				out = append(out, c.Method+" "+c.Path[strings.LastIndex(c.Path, "/")+1:])
				break
			}
		}
	}
	return out
}

// logBuf collects log lines.
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

// assertNoLeak fails the test if any text holds a canary.
func assertNoLeak(t *testing.T, what string, texts ...string) {
	t.Helper()
	for _, text := range texts {
		for _, c := range []string{canaryClientSecr, canaryPFXPassword} {
			if strings.Contains(text, c) {
				t.Errorf("%s leaks a secret: %s", what, text)
			}
		}
	}
}

func TestConnsShareOneClient(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	f.load(fixtureOptions{}, "")
	const n = 8
	got := make([]*hub.Client, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, _, err := f.conns.Hub(context.Background(), "east")
			if err != nil {
				t.Error(err)
			}
			got[i] = c
		}()
	}
	wg.Wait()
	for i := range got {
		if got[i] == nil || got[i] != got[0] {
			t.Fatalf("client %d = %p, want the shared *hub.Client %p", i, got[i], got[0])
		}
	}
	if d := f.calls("/metadata/endpoints"); len(d) != 1 {
		t.Errorf("discovery requests = %q, want exactly one", d)
	}
}

func TestConnsErrors(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	f.load(fixtureOptions{}, `
pep "east" {
  addresses = ["127.0.0.1"]
  username  = "CloudAdmin"
  password  = var.client_secret
}`)
	hub := func(name string) error { _, _, err := f.conns.Hub(context.Background(), name); return err }
	pep := func(name string) error { _, err := f.conns.PEP(context.Background(), name); return err }
	tests := map[string]struct {
		connect    func(name string) error
		name, want string
	}{
		"unknown hub": {hub, "west", "hub west: there is no hub block of that name"},
		"unknown pep": {pep, "west", "pep west: there is no pep block of that name"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := tc.connect(tc.name)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
		})
	}
	f.conns.Close()
	if err := hub("east"); err == nil || !strings.Contains(err.Error(), ErrClosed.Error()) {
		t.Errorf("Hub after Close: err = %v, want %v", err, ErrClosed)
	}
}

// TestConnsCAFileRelative checks that ca_file is read relative to the
// runbook directory and that its roots are what Hub reports.
func TestConnsCAFileRelative(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	f.writeFile("stamp-root.pem", f.srv.CA().CertPEM())
	src := fmt.Sprintf(`
hub "east" {
  endpoint = %q
  ca_file  = "stamp-root.pem"
  auth {
    method        = "client_secret"
    tenant        = "adfs"
    client_id     = %q
    client_secret = sensitive(%q)
  }
}`, f.srv.URL(), testClientID, canaryClientSecr)
	rb, diags := lang.Load(fstest.MapFS{"a.runbook.hcl": {Data: []byte(src)}}, ".", lang.Options{})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	rb.Dir = f.dir
	conns := NewConns(rb, ConnOptions{Clock: f.clk, Logger: f.log.logf})
	_, roots, err := conns.Hub(context.Background(), "east")
	if err != nil {
		t.Fatal(err)
	}
	if len(roots) != 1 || !roots[0].Equal(f.srv.CA().Cert) {
		t.Errorf("roots = %v, want the stamp's root", roots)
	}

	rb.Dir = t.TempDir() // no stamp-root.pem there
	_, _, err = NewConns(rb, ConnOptions{Clock: f.clk}).Hub(context.Background(), "east")
	if err == nil || !strings.Contains(err.Error(), "ca_file") {
		t.Errorf("Hub with a missing ca_file: err = %v, want a ca_file error", err)
	}
}

// TestConnsCanceledBuildIsRetried checks that a client whose build failed
// only because the caller gave up is built again for the next caller.
func TestConnsCanceledBuildIsRetried(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	f.load(fixtureOptions{}, "")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := f.conns.Hub(ctx, "east"); err == nil {
		t.Fatal("Hub with a canceled context succeeded")
	}
	if _, _, err := f.conns.Hub(context.Background(), "east"); err != nil {
		t.Fatalf("Hub after a canceled attempt: %v", err)
	}
}
