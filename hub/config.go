package hub

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/runbook-dev/runbook/clock"
)

// AuthMethod names how the client signs in to the stamp's identity provider.
type AuthMethod string

// The sign-in methods of a hub block's auth.method.
const (
	// AuthClientSecret signs in as a service principal with a client secret
	// (an AD FS application from New-GraphApplication -GenerateClientSecret,
	// or an Entra app registration).
	AuthClientSecret AuthMethod = "client_secret"
	// AuthClientCertificate signs in as a service principal with a
	// certificate and its private key, from a PFX (PKCS#12) or PEM file.
	AuthClientCertificate AuthMethod = "client_certificate"
	// AuthDeviceCode signs in an operator interactively: the device code
	// prompt goes to Auth.Prompt.
	AuthDeviceCode AuthMethod = "device_code"
	// AuthAzureCLI borrows the token of an Azure CLI session ("az login"
	// against the stamp's environment, registered with "az cloud register").
	AuthAzureCLI AuthMethod = "azure_cli"
)

// Auth is the auth block of a hub.
type Auth struct {
	// Method is required.
	Method AuthMethod
	// Tenant is "adfs" or empty on AD FS stamps (anything else is an error);
	// on Entra stamps the directory's tenant id or domain, required for the
	// service principal methods.
	Tenant string
	// ClientID is the application (client) id; required for client_secret
	// and client_certificate, optional for device_code.
	ClientID string
	// ClientSecret is the secret of client_secret.
	ClientSecret Secret
	// CertificateFile is the PFX/PKCS#12 or PEM (certificate and unencrypted
	// private key) file of client_certificate.
	CertificateFile string
	// CertificateData, when not empty, is used instead of reading
	// CertificateFile (same formats).
	CertificateData []byte
	// CertificatePassword opens a PFX certificate.
	CertificatePassword Secret
	// Prompt receives device_code's sign-in instructions; os.Stderr when nil.
	Prompt io.Writer
}

// Logger receives one line per HTTP exchange (method, URL path, status,
// duration; never bodies, query strings or headers), one per retry and every
// warning. log.Printf and testing.T.Logf fit.
type Logger func(format string, args ...any)

// RetryOptions tunes the retry of failed requests: 408, 429 and 5xx except
// 501 and 505, and network errors (for rotateSecrets only those where the
// request cannot have been sent). Zero fields take the defaults.
type RetryOptions struct {
	// MaxRetries is how many times a request is retried; default 4,
	// negative for none.
	MaxRetries int
	// Delay is the first back-off when the stamp sends no Retry-After; it
	// doubles on each retry, with ±20% jitter. Default 1s.
	Delay time.Duration
	// MaxDelay caps the back-off. A Retry-After longer than MaxDelay ends
	// the retries at once (the stamp asked for a longer pause than the
	// caller allows). Default 2m.
	MaxDelay time.Duration
}

// Config describes one stamp: a hub block of a runbook plus the seams tests
// and the executor inject.
type Config struct {
	// Name names the stamp in errors and logs; the endpoint's host when empty.
	Name string
	// Endpoint is the admin ARM endpoint, e.g.
	// https://adminmanagement.local.azurestack.external. Required, https.
	Endpoint string
	// CAFile is a PEM bundle of the stamp's root CA (ca_file); CAPEM is the
	// same content inline. Both are added to the system roots.
	CAFile string
	CAPEM  []byte
	// Insecure turns TLS certificate verification off. The client then
	// emits a warning through Logger (os.Stderr without one) and lists it
	// in Client.Warnings.
	Insecure bool
	// Auth says how to sign in.
	Auth Auth
	// SubscriptionID is the Default Provider Subscription's id; looked up
	// by display name on first use when empty.
	SubscriptionID string
	// Clock runs every wait; clock.Real when nil.
	Clock clock.Clock
	// Logger receives request lines and warnings; nil logs nothing (but
	// warnings still go to os.Stderr).
	Logger Logger
	// Retry tunes request retries.
	Retry RetryOptions
	// PollInterval is the wait between polls of a long-running operation
	// when the stamp sends no Retry-After; default 30s.
	PollInterval time.Duration
	// PollErrorLimit is how many polls in a row may fail transiently (after
	// each request's own retries) before PollOperation gives up; default 10.
	PollErrorLimit int
	// HTTPTransport, when set, is cloned and used as the base transport
	// (tests use it for custom dialers); the CA and Insecure settings are
	// applied to the clone's TLS configuration.
	HTTPTransport *http.Transport
}

func (r RetryOptions) withDefaults() RetryOptions {
	switch {
	case r.MaxRetries == 0:
		r.MaxRetries = 4
	case r.MaxRetries < 0:
		r.MaxRetries = 0
	}
	if r.Delay <= 0 {
		r.Delay = time.Second
	}
	if r.MaxDelay <= 0 {
		r.MaxDelay = 2 * time.Minute
	}
	return r
}

// check validates the configuration and returns the parsed endpoint.
func (cfg *Config) check() (*url.URL, error) {
	if cfg.Endpoint == "" {
		return nil, fmt.Errorf("hub %s: endpoint is required", cfg.Name)
	}
	u, err := url.Parse(strings.TrimRight(cfg.Endpoint, "/"))
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("hub %s: endpoint %q is not a URL", cfg.Name, cfg.Endpoint)
	}
	if !strings.EqualFold(u.Scheme, "https") {
		return nil, fmt.Errorf("hub %s: endpoint %q must use https", cfg.Name, cfg.Endpoint)
	}
	name := cfg.Name
	if name == "" {
		name = u.Hostname()
	}
	a := cfg.Auth
	need := func(field, value string) error {
		if value == "" {
			return fmt.Errorf("hub %s: auth method %s needs %s", name, a.Method, field)
		}
		return nil
	}
	switch a.Method {
	case AuthClientSecret:
		if err := need("client_id", a.ClientID); err != nil {
			return nil, err
		}
		if err := need("client_secret", a.ClientSecret.Reveal()); err != nil {
			return nil, err
		}
	case AuthClientCertificate:
		if err := need("client_id", a.ClientID); err != nil {
			return nil, err
		}
		if a.CertificateFile == "" && len(a.CertificateData) == 0 {
			return nil, need("certificate_file", "")
		}
	case AuthDeviceCode, AuthAzureCLI:
	case "":
		return nil, fmt.Errorf("hub %s: auth method is required (client_secret, client_certificate, device_code or azure_cli)", name)
	default:
		return nil, fmt.Errorf("hub %s: unknown auth method %q (want client_secret, client_certificate, device_code or azure_cli)", name, a.Method)
	}
	return u, nil
}
