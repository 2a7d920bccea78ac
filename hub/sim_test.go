package hub

// Tests of the client against the shared simulated stamp (sim/hub), over
// loopback HTTPS, on a fake clock.

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/runbook-dev/runbook/clock"
	"github.com/runbook-dev/runbook/sim/certs"
	simhub "github.com/runbook-dev/runbook/sim/hub"
)

// simFixture is a running simulated stamp with a registered service
// principal (secret and certificate) and its fake clock.
type simFixture struct {
	srv   *simhub.Server
	clock *clock.Fake
	leaf  *certs.Leaf
}

func startSim(t *testing.T, opts simhub.Options) *simFixture {
	t.Helper()
	f := &simFixture{clock: clock.NewFake(epoch)}
	ca, err := certs.NewCA(certs.DefaultCAName, time.Unix(0, 0), time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if f.leaf, err = ca.ClientCertificate("runbook-operator", epoch.AddDate(0, 0, -1), epoch.AddDate(1, 0, 0)); err != nil {
		t.Fatal(err)
	}
	opts.Clock, opts.CA = f.clock, ca
	opts.Clients = append(opts.Clients, simhub.Client{ID: testClientID, Secret: canaryClientSecret, Certificate: f.leaf.Cert})
	f.srv = simhub.New(opts)
	if err := f.srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.srv.Close() })
	return f
}

// client returns a client_secret client of the simulated stamp.
func (f *simFixture) client(t *testing.T, mods ...func(*Config)) (*Client, *logBuf) {
	t.Helper()
	log := &logBuf{}
	cfg := Config{
		Name: "sim", Endpoint: f.srv.URL(), CAPEM: f.srv.CA().CertPEM(), Clock: f.clock, Logger: log.logf,
		Auth: Auth{Method: AuthClientSecret, Tenant: f.srv.Tenant(), ClientID: testClientID,
			ClientSecret: canaryClientSecret, CertificatePassword: canaryPFXPassword},
	}
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

func (f *simFixture) certAuth(t *testing.T, pem bool) func(*Config) {
	return func(cfg *Config) {
		cfg.Auth.Method, cfg.Auth.ClientSecret = AuthClientCertificate, ""
		var err error
		if pem {
			cfg.Auth.CertificateData, err = f.leaf.PEM()
		} else {
			cfg.Auth.CertificateData, err = f.leaf.PFX(canaryPFXPassword)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestSimSignIn: both identity styles, both service-principal methods;
// discovery and the subscription lookup, then reads.
func TestSimSignIn(t *testing.T) {
	tests := map[string]struct {
		identity simhub.IdentityStyle
		cert     bool
		pem      bool
	}{
		"adfs client secret":       {identity: simhub.ADFS},
		"adfs client certificate":  {identity: simhub.ADFS, cert: true},
		"entra client secret":      {identity: simhub.Entra},
		"entra client certificate": {identity: simhub.Entra, cert: true, pem: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := startSim(t, simhub.Options{Identity: tc.identity, PageSize: 1})
			var mods []func(*Config)
			if tc.cert {
				mods = append(mods, f.certAuth(t, tc.pem))
			}
			c, _ := f.client(t, mods...)
			ctx := context.Background()
			sub, err := c.SubscriptionID(ctx)
			if err != nil {
				t.Fatal(err)
			}
			deps, err := c.ListProductDeployments(ctx)
			if err != nil {
				t.Fatal(err)
			}
			type row struct{ Product, Package, Status string }
			var rows []row
			for _, d := range deps {
				rows = append(rows, row{d.ProductID(), d.PackageID(), d.Properties.Status})
			}
			secret, err := c.GetProductSecret(ctx, "Microsoft.EventHub.1.2003.0.0", "aseh-ssl-gateway-pfx")
			if err != nil {
				t.Fatal(err)
			}
			exp, _ := secret.Properties.SecretState.Expiration()
			type result struct {
				ADFS            bool
				Audience        string
				Subscription    string
				Deployments     []row
				SecretKind      string
				SecretExpiresIn time.Duration
				Tokens          int
			}
			got := result{c.Metadata().ADFS, c.Metadata().Audience, sub, rows, secret.Properties.SecretKind,
				exp.Sub(epoch).Round(time.Hour), f.srv.State().TokensIssued}
			want := result{tc.identity == simhub.ADFS, f.srv.Audience(), f.srv.SubscriptionID(),
				[]row{{"microsoft.eventhub", "microsoft.eventhub.1.2003.0.0", "DeploymentSucceeded"},
					{"microsoft.sqlrp", "microsoft.sqlrp.2.0.0.2", "DeploymentSucceeded"}},
				"Certificate", 25 * 24 * time.Hour, 1}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

// TestSimImportAndRotate is the whole Event Hubs flow on the simulated
// stamp: validate a bad and a good certificate, import, rotate for four
// virtual hours with tokens expiring underneath, and read the result.
func TestSimImportAndRotate(t *testing.T) {
	f := startSim(t, simhub.Options{
		// A token revocation in the middle of the rotation, on top of the
		// hourly expiry.
		Faults: []simhub.Fault{{Kind: simhub.FaultExpireTokens, Path: "/operationresults/", Skip: 100}},
	})
	c, log := f.client(t)
	ctx := context.Background()
	const pkg, name = "microsoft.eventhub.1.2003.0.0", "aseh-ssl-gateway-pfx"
	bad, err := f.srv.ProductPFX("microsoft.eventhub", certs.FlawWrongSAN, canaryPFXPassword)
	if err != nil {
		t.Fatal(err)
	}
	err = c.ValidateSecret(ctx, pkg, name, bad, canaryPFXPassword)
	var e *Error
	if !errors.As(err, &e) || e.StatusCode != 400 || e.Code == "" || !strings.Contains(e.Message, "eventhub") {
		t.Fatalf("validate of a wrong-SAN certificate: %v", err)
	}
	assertNoLeak(t, "error", err.Error())
	good, err := f.srv.ProductPFX("microsoft.eventhub", certs.FlawNone, canaryPFXPassword)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.ValidateSecret(ctx, pkg, name, good, canaryPFXPassword); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ImportSecret(ctx, pkg, name, good, canaryPFXPassword); err != nil {
		t.Fatal(err)
	}
	sec, err := c.GetProductSecret(ctx, pkg, name)
	if err != nil {
		t.Fatal(err)
	}
	if s := sec.Properties.SecretState.Status; s != "Uploaded" {
		t.Errorf("after import the secret is %q, want Uploaded", s)
	}
	start := time.Now()
	var (
		final *OperationStatus
		polls []Progress
	)
	waits := onFakeClock(t, f.clock, func() {
		var op Operation
		if op, err = c.RotateSecrets(ctx, "microsoft.eventhub"); err == nil {
			final, err = c.PollOperation(ctx, op, func(p Progress) { polls = append(polls, p) })
		}
	})
	real := time.Since(start)
	if err != nil {
		t.Fatalf("rotation: %v\n%s", err, log)
	}
	if final.Status != "Succeeded" {
		t.Errorf("final = %+v", final)
	}
	for i, w := range waits {
		if w != time.Minute {
			t.Fatalf("wait %d = %s, want the stamp's Retry-After of 1m", i, w)
		}
	}
	if got := f.clock.Since(epoch); got < 4*time.Hour || got > 4*time.Hour+time.Minute {
		t.Errorf("virtual time = %s, want 4h", got)
	}
	dep, err := c.GetProductDeployment(ctx, "microsoft.eventhub")
	if err != nil {
		t.Fatal(err)
	}
	sec, err = c.GetProductSecret(ctx, pkg, name)
	if err != nil {
		t.Fatal(err)
	}
	if dep.Properties.Status != "SecretRotationSucceeded" || sec.Properties.SecretState.Status != "Deployed" {
		t.Errorf("after rotation: deployment %q, secret %q", dep.Properties.Status, sec.Properties.SecretState.Status)
	}
	tokens := f.srv.State().TokensIssued
	if tokens < 5 {
		t.Errorf("%d tokens issued, want at least 5 (hourly expiry plus one revocation)", tokens)
	}
	t.Logf("simulated 4h rotation: %d polls, %d tokens, %s real time", len(polls), tokens, real)
}

// TestSimFaults injects the simulator's request faults.
func TestSimFaults(t *testing.T) {
	const list = "/productDeployments"
	tests := map[string]struct {
		fault     simhub.Fault
		wantErr   string
		wantWaits []time.Duration // nil: not checked
		wantTries int
	}{
		"throttled with Retry-After": {fault: simhub.Fault{Kind: simhub.FaultThrottle, Method: "GET", Path: list, Times: 2, RetryAfter: 7 * time.Second},
			wantWaits: []time.Duration{7 * time.Second, 7 * time.Second}, wantTries: 3},
		"500 storm that passes": {fault: simhub.Fault{Kind: simhub.FaultServerError, Method: "GET", Path: list, Times: 3, RetryAfter: 2 * time.Second},
			wantWaits: []time.Duration{2 * time.Second, 2 * time.Second, 2 * time.Second}, wantTries: 4},
		"500 storm that does not": {fault: simhub.Fault{Kind: simhub.FaultServerError, Method: "GET", Path: list, Times: -1},
			wantTries: 5, wantErr: "hub sim: list product deployments: InternalServerError: Encountered internal server error."},
		"connection resets": {fault: simhub.Fault{Kind: simhub.FaultConnectionReset, Method: "GET", Path: list, Times: 2}, wantTries: 3},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := startSim(t, simhub.Options{})
			c, _ := f.client(t)
			if _, err := c.SubscriptionID(context.Background()); err != nil {
				t.Fatal(err)
			}
			f.srv.Inject(tc.fault)
			var err error
			waits := onFakeClock(t, f.clock, func() { _, err = c.ListProductDeployments(context.Background()) })
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatal(err)
			case tc.wantErr != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.wantErr)):
				t.Fatalf("err = %v, want prefix %s", err, tc.wantErr)
			}
			if tc.wantWaits != nil {
				if diff := cmp.Diff(tc.wantWaits, waits); diff != "" {
					t.Errorf("waits (-want +got)\n%s", diff)
				}
			}
			tries := 0
			for _, call := range f.srv.Calls() {
				if strings.HasSuffix(call.Path, list) {
					tries++
				}
			}
			if tries != tc.wantTries {
				t.Errorf("%d tries, want %d", tries, tc.wantTries)
			}
		})
	}
}

// TestSimRotationFaults: a rotation failing at 60%, an operation that
// vanishes, a reset of rotateSecrets itself, and a second rotation.
func TestSimRotationFaults(t *testing.T) {
	tests := map[string]struct {
		scenario string
		fault    *simhub.Fault
		check    func(t *testing.T, f *simFixture, err error, last Progress)
	}{
		"fails at 60%": {scenario: "rotation-fails", check: func(t *testing.T, f *simFixture, err error, last Progress) {
			var e *Error
			if !errors.Is(err, ErrOperationFailed) || !errors.As(err, &e) || e.Code == "" || e.Message == "" {
				t.Fatalf("err = %v, want ErrOperationFailed with code and message", err)
			}
			if !strings.HasPrefix(err.Error(), "hub sim: rotate secrets of microsoft.eventhub: operation failed: "+e.Code+": ") {
				t.Errorf("err = %v", err)
			}
			if last.Status != "Failed" || last.PercentComplete != 60 {
				t.Errorf("last progress = %+v", last)
			}
		}},
		"operation vanishes": {fault: &simhub.Fault{Kind: simhub.FaultVanishOperation, Product: "microsoft.eventhub"},
			check: func(t *testing.T, f *simFixture, err error, last Progress) {
				if !IsNotFound(err) || !errors.Is(err, ErrOutcomeUnknown) || !strings.Contains(err.Error(), "no longer exists") {
					t.Fatalf("err = %v, want a clear not-found with unknown outcome", err)
				}
			}},
		"rotateSecrets reset": {fault: &simhub.Fault{Kind: simhub.FaultConnectionReset, Method: "POST", Path: "rotateSecrets"},
			check: func(t *testing.T, f *simFixture, err error, last Progress) {
				if !errors.Is(err, ErrOutcomeUnknown) {
					t.Fatalf("err = %v, want ErrOutcomeUnknown", err)
				}
				n := 0
				for _, c := range f.srv.Calls() {
					if strings.HasSuffix(c.Path, "/rotateSecrets") {
						n++
					}
				}
				if n != 1 {
					t.Errorf("rotateSecrets sent %d times, want 1", n)
				}
			}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			opts := simhub.Options{}
			if tc.scenario != "" {
				sc, err := simhub.ScenarioByName(tc.scenario)
				if err != nil {
					t.Fatal(err)
				}
				opts.Scenario = &sc
			}
			if tc.fault != nil {
				opts.Faults = []simhub.Fault{*tc.fault}
			}
			f := startSim(t, opts)
			c, _ := f.client(t)
			ctx := context.Background()
			var (
				err  error
				last Progress
			)
			onFakeClock(t, f.clock, func() {
				var op Operation
				if op, err = c.RotateSecrets(ctx, "microsoft.eventhub"); err == nil {
					_, err = c.PollOperation(ctx, op, func(p Progress) { last = p })
				}
			})
			tc.check(t, f, err, last)
		})
	}
}

// TestSimConflictAndResume: a second rotateSecrets conflicts; the journalled
// operation finishes on a fresh client.
func TestSimConflictAndResume(t *testing.T) {
	f := startSim(t, simhub.Options{})
	first, _ := f.client(t)
	ctx := context.Background()
	op, err := first.RotateSecrets(ctx, "microsoft.sqlrp")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := first.RotateSecrets(ctx, "microsoft.sqlrp"); !IsConflict(err) {
		t.Errorf("second rotation: %v, want a conflict", err)
	}
	journal, _ := json.Marshal(op)
	f.clock.Advance(5 * time.Minute)
	var resumed Operation
	if err := json.Unmarshal(journal, &resumed); err != nil {
		t.Fatal(err)
	}
	second, _ := f.client(t)
	var final *OperationStatus
	onFakeClock(t, f.clock, func() { final, err = second.PollOperation(ctx, resumed, nil) })
	if err != nil || final.Status != "Succeeded" {
		t.Fatalf("resumed poll: %+v, %v", final, err)
	}
}

// TestSimRotateResponses: the client copes with each answer shape.
func TestSimRotateResponses(t *testing.T) {
	tests := map[string]struct {
		shape      simhub.RotateResponse
		wantHeader string
	}{
		"async":         {simhub.RotateAsync, "Azure-AsyncOperation"},
		"location only": {simhub.RotateLocationOnly, "Location"},
		"no headers":    {simhub.RotateNoHeaders, ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := startSim(t, simhub.Options{RotateResponse: tc.shape})
			c, _ := f.client(t)
			ctx := context.Background()
			var (
				op    Operation
				final *OperationStatus
				err   error
			)
			onFakeClock(t, f.clock, func() {
				if op, err = c.RotateSecrets(ctx, "microsoft.sqlrp"); err == nil {
					final, err = c.PollOperation(ctx, op, nil)
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.wantHeader+" Succeeded", op.Header+" "+final.Status); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

// TestSimTLS: the stamp's CA is needed; insecure works and warns.
func TestSimTLS(t *testing.T) {
	f := startSim(t, simhub.Options{})
	log := &logBuf{}
	_, err := New(context.Background(), Config{Name: "sim", Endpoint: f.srv.URL(), Clock: f.clock, Logger: log.logf,
		Auth: Auth{Method: AuthClientSecret, ClientID: testClientID, ClientSecret: canaryClientSecret}})
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Fatalf("without the stamp's CA: %v, want an x509 unknown authority error", err)
	}
	c, log := f.client(t, func(cfg *Config) { cfg.CAPEM, cfg.Insecure = nil, true })
	if _, err := c.ListProductDeployments(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(c.Warnings()) != 1 || !strings.Contains(log.String(), "warning: hub sim: TLS certificate verification is off") {
		t.Errorf("insecure without a warning: %q\n%s", c.Warnings(), log)
	}
	assertNoLeak(t, "error", fmt.Sprint(err))
}
