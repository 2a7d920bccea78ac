package azurerm

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/runbook-dev/runbook/clock"
	"github.com/runbook-dev/runbook/internal/boundedread"
)

// DefaultServiceVersion is the storage service version sent when
// Config.ServiceVersion is empty: the newest that Azure Stack Hub stamps
// are reported to accept (the SDK's own, 2026-12-06, is refused there with
// 400 InvalidHeaderValue). Azure and Azurite accept it too.
const DefaultServiceVersion = "2019-07-07"

// Config says where the state lives and how to sign in.
type Config struct {
	// Account is the storage account name.
	Account string
	// Endpoint is the blob service URL, e.g.
	// https://azsstate.blob.east.contoso.com, or Azurite's
	// http://127.0.0.1:10000/devstoreaccount1. Only https is accepted,
	// except for loopback addresses.
	Endpoint string
	// Container is the container, made beforehand by the operator.
	Container string
	// Key is the prefix of every blob the runbook writes.
	Key string

	// Exactly one way to sign in: AccessKey (the account key), SASToken
	// (a container SAS with permissions racwdl), or Credential (Azure AD).
	AccessKey  string
	SASToken   string
	Credential azcore.TokenCredential

	// CAFile is a PEM bundle of extra roots (a stamp's own root CA).
	CAFile string
	// PlanKey is the runbook's 32-byte secret key (see the package doc).
	PlanKey []byte
	// ServiceVersion overrides DefaultServiceVersion.
	ServiceVersion string
	// SegmentBlocks is the most Append Blocks a journal segment takes
	// before the journal rolls over to the next; zero is
	// DefaultSegmentBlocks, the service's limit. Tests lower it.
	SegmentBlocks int

	// Clock times retries and lease renewals; nil is the wall clock.
	Clock clock.Clock
	// RenewEvery is how often a held lease is renewed; zero is
	// state.RenewEvery. Tests shorten it so that a holder notices a
	// broken lease at once; it stays well under state.LeaseDuration.
	RenewEvery time.Duration
	// Retry bounds retries of throttled (429), failed (5xx) and lost
	// requests; zero values take the defaults.
	Retry RetryOptions
	// Transport replaces the HTTP client, for tests (a fault-injecting
	// proxy); nil builds one honouring CAFile.
	Transport policy.Transporter
	// Logf, if set, receives one line per request (method, path, status).
	Logf func(format string, args ...any)
}

// RetryOptions bounds retries.
type RetryOptions struct {
	MaxRetries int           // default 6
	Delay      time.Duration // first backoff, default 500ms
	MaxDelay   time.Duration // default 15s
}

// Backend is a runbook's state in a container. Its methods are safe for
// concurrent use.
type Backend struct {
	cfg       Config
	clock     clock.Clock
	container *container.Client
	stats     *stats
}

// New checks cfg and returns the backend. It sends no request; the first
// one reports a missing container or a refused credential.
func New(cfg Config) (*Backend, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	b := &Backend{cfg: cfg, clock: cfg.Clock, stats: &stats{}}
	if b.clock == nil {
		b.clock = clock.Real
	}
	if cfg.ServiceVersion == "" {
		b.cfg.ServiceVersion = DefaultServiceVersion
	}
	tr := cfg.Transport
	if tr == nil {
		hc, err := httpClient(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("azurerm %s: %w", b, err)
		}
		tr = hc
	}
	opts := &container.ClientOptions{ClientOptions: azcore.ClientOptions{
		Transport: tr,
		Retry:     policy.RetryOptions{MaxRetries: -1}, // ours waits on the clock
		PerCallPolicies: []policy.Policy{
			versionPolicy(b.cfg.ServiceVersion),
			&retryPolicy{clock: b.clock, opts: cfg.Retry.withDefaults(), logf: b.logf},
		},
		PerRetryPolicies: []policy.Policy{&logPolicy{clock: b.clock, logf: b.logf, stats: b.stats}},
		Telemetry:        policy.TelemetryOptions{ApplicationID: "runbook"},
	}}
	containerURL := strings.TrimRight(cfg.Endpoint, "/") + "/" + url.PathEscape(cfg.Container)
	var err error
	switch {
	case cfg.AccessKey != "":
		var cred *container.SharedKeyCredential
		cred, err = container.NewSharedKeyCredential(cfg.Account, cfg.AccessKey)
		if err == nil {
			b.container, err = container.NewClientWithSharedKeyCredential(containerURL, cred, opts)
		}
	case cfg.SASToken != "":
		b.container, err = container.NewClientWithNoCredential(containerURL+"?"+strings.TrimPrefix(cfg.SASToken, "?"), opts)
	default:
		b.container, err = container.NewClient(containerURL, cfg.Credential, opts)
	}
	if err != nil {
		// The SDK's messages can quote the key or token: say what, not how.
		return nil, fmt.Errorf("azurerm %s: the credential is not usable (an access key must be base64)", b)
	}
	return b, nil
}

// String implements state.Backend.
func (b *Backend) String() string {
	return "azurerm " + b.cfg.Account + "/" + b.cfg.Container + "/" + b.cfg.Key
}

func (b *Backend) logf(format string, args ...any) {
	if b.cfg.Logf != nil {
		b.cfg.Logf(format, args...)
	}
}

func (cfg *Config) check() error {
	var problems []string
	if cfg.Account == "" {
		problems = append(problems, "storage_account_name is empty")
	}
	if cfg.Container == "" {
		problems = append(problems, "container_name is empty")
	}
	if err := CheckEndpoint(cfg.Endpoint); err != nil {
		problems = append(problems, err.Error())
	}
	if cfg.Key == "" || strings.HasPrefix(cfg.Key, "/") || strings.HasSuffix(cfg.Key, "/") {
		problems = append(problems, fmt.Sprintf("key %q must be a blob name prefix such as east/quarterly", cfg.Key))
	}
	n := 0
	for _, set := range []bool{cfg.AccessKey != "", cfg.SASToken != "", cfg.Credential != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		problems = append(problems, "exactly one of access_key, sas_token or auth must be given")
	}
	if len(problems) > 0 {
		return fmt.Errorf("azurerm backend: %s", strings.Join(problems, "; "))
	}
	return nil
}

// CheckEndpoint accepts an https URL, or an http URL of a loopback
// address (Azurite on this machine): credentials never travel in clear
// text over a network.
func CheckEndpoint(endpoint string) error {
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" || u.RawQuery != "" || u.User != nil {
		return fmt.Errorf("endpoint %q is not a blob service URL such as https://ACCOUNT.blob.core.windows.net", endpoint)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		host := u.Hostname()
		if ip := net.ParseIP(host); (ip != nil && ip.IsLoopback()) || host == "localhost" {
			return nil
		}
	}
	return fmt.Errorf("endpoint %q must use https (plain http only for a loopback address such as Azurite's 127.0.0.1)", endpoint)
}

// httpClient verifies TLS against the system roots plus caFile. The
// socket timeouts bound a hung connection; they are not waits.
func httpClient(caFile string) (*http.Client, error) {
	dialer := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		pem, err := boundedread.File(caFile, boundedread.Cert)
		if err != nil {
			return nil, fmt.Errorf("ca_file: %w", err)
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca_file %s holds no PEM certificate", caFile)
		}
		tc.RootCAs = pool
	}
	return &http.Client{Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   30 * time.Second,
		ResponseHeaderTimeout: 60 * time.Second,
		TLSClientConfig:       tc,
	}}, nil
}
