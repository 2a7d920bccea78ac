package hub

import (
	"crypto/x509"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/runbook-dev/runbook/clock"
	"github.com/runbook-dev/runbook/sim/certs"
)

// IdentityStyle selects the identity provider the stamp uses.
type IdentityStyle int

const (
	// ADFS is a disconnected stamp's AD FS: tenant "adfs", login endpoint
	// https://<host>/adfs/, token endpoint /adfs/oauth2/token/.
	ADFS IdentityStyle = iota
	// Entra is an Entra ID (Azure AD) stamp: a GUID tenant, login endpoint
	// https://<host>/, token endpoint /{tenant}/oauth2/v2.0/token.
	Entra
)

// String returns "adfs" or "entra".
func (s IdentityStyle) String() string {
	switch s {
	case ADFS:
		return "adfs"
	case Entra:
		return "entra"
	}
	return fmt.Sprintf("IdentityStyle(%d)", int(s))
}

// RotateResponse selects how rotateSecrets answers, for testing a client
// against each shape the spec allows (hub-api.md §6: the real headers are
// not documented). The rotation itself runs the same in every case.
type RotateResponse int

const (
	// RotateAsync answers 202 with Azure-AsyncOperation, Location and
	// Retry-After, all naming the operation result. The default.
	RotateAsync RotateResponse = iota
	// RotateLocationOnly answers 202 with Location and Retry-After only.
	RotateLocationOnly
	// RotateNoHeaders answers 200 without any operation header, as the spec
	// also allows; progress is then visible only in productDeployments.
	RotateNoHeaders
	// RotateBareAccepted answers 202 without any header and without a
	// body, as the specification's RotateSecrets.json example does;
	// progress is visible only in productDeployments.
	RotateBareAccepted
)

// Client is a service principal registered with the stamp's identity
// provider. It authenticates with its Secret, its Certificate, or either.
type Client struct {
	// ID is the client (application) id the credential presents.
	ID string
	// Secret enables client_secret authentication when non-empty. It is
	// kept in memory only, compared in constant time and never logged.
	Secret string
	// Certificate enables client_assertion authentication: assertions must
	// be signed by its key and name it by thumbprint.
	Certificate *x509.Certificate
}

// Options configure a Server. The zero value is a valid AD FS stamp with the
// default scenario, no registered clients and the wall clock.
type Options struct {
	// Clock is the stamp's time: token issue and expiry, certificate
	// validity, secret expiry and rotation progress. Default clock.Real.
	Clock clock.Clock
	// Scenario is the stamp's initial data; default DefaultScenario(). It
	// is ignored when StatePath names an existing state file.
	Scenario *Scenario
	// Faults are injected from the start, as by Server.Inject.
	Faults []Fault
	// CA is the stamp's root: it issues the TLS certificate and uploaded
	// certificates must chain to it. Default: a CA named
	// certs.DefaultCAName valid from 2000 to 2099.
	CA *certs.CA
	// Region and ExternalFQDN name the stamp: endpoints are
	// <service>.<Region>.<ExternalFQDN>. Defaults "local" and
	// "azurestack.external", as on an ASDK.
	Region, ExternalFQDN string
	// Identity selects AD FS (default) or Entra ID.
	Identity IdentityStyle
	// TenantID is the Entra tenant; default a GUID derived from the stamp
	// name. AD FS always uses the tenant "adfs".
	TenantID string
	// Audience is the admin ARM token audience published in the metadata;
	// default https://adminmanagement.<Region>.<ExternalFQDN>/<derived GUID>.
	Audience string
	// Clients are the registered service principals.
	Clients []Client
	// TokenLifetime is the lifetime of issued access tokens on Clock (the
	// token's exp claim and the expires_in the client is told). Default
	// one hour, as AD FS and Entra issue.
	//
	// ARM checks expiry on the virtual clock, while azidentity and azcore
	// decide when to refresh a token by the wall clock. Under an
	// accelerated clock (clock.Scaled, or a clock.Fake advanced by hours)
	// a token therefore expires long before the client thinks it does;
	// set TokenLifetime above the virtual span of the run unless the test
	// is about expiry.
	TokenLifetime time.Duration
	// StatePath, when set, makes the stamp persistent: Open loads the
	// state from this JSON file if it exists (else creates it from the
	// scenario), and every mutation rewrites it atomically.
	StatePath string
	// Addr is the listen address for Start; default "127.0.0.1:0".
	Addr string
	// RotateResponse selects the shape of rotateSecrets responses.
	RotateResponse RotateResponse
	// PageSize, when positive, splits list responses into pages of that
	// many items linked by nextLink. Default: one page.
	PageSize int
	// OnCall, when set, receives each request's log entry as its status
	// is written, before the response reaches the client. It runs on the
	// serving goroutine, possibly while the Server holds its lock, so it
	// must not call back into the Server.
	OnCall func(Call)
}

// withDefaults returns o with every default filled in.
func (o Options) withDefaults() (Options, error) {
	if o.Clock == nil {
		o.Clock = clock.Real
	}
	if o.Scenario == nil {
		sc := DefaultScenario()
		o.Scenario = &sc
	}
	if o.Region == "" {
		o.Region = "local"
	}
	if o.ExternalFQDN == "" {
		o.ExternalFQDN = "azurestack.external"
	}
	o.Region, o.ExternalFQDN = strings.ToLower(o.Region), strings.ToLower(o.ExternalFQDN)
	if o.Identity != ADFS && o.Identity != Entra {
		return o, fmt.Errorf("sim/hub: unknown identity style %d", int(o.Identity))
	}
	if o.RotateResponse < RotateAsync || o.RotateResponse > RotateBareAccepted {
		return o, fmt.Errorf("sim/hub: unknown rotate response %d", int(o.RotateResponse))
	}
	if o.TenantID == "" {
		o.TenantID = guidFor("tenant", o.Region, o.ExternalFQDN)
	}
	if o.Audience == "" {
		o.Audience = fmt.Sprintf("https://adminmanagement.%s.%s/%s", o.Region, o.ExternalFQDN,
			guidFor("audience", o.Region, o.ExternalFQDN))
	}
	if o.TokenLifetime <= 0 {
		o.TokenLifetime = time.Hour
	}
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	if _, _, err := net.SplitHostPort(o.Addr); err != nil {
		return o, fmt.Errorf("sim/hub: listen address %q: %w", o.Addr, err)
	}
	seen := map[string]bool{}
	for _, c := range o.Clients {
		id := strings.ToLower(c.ID)
		if id == "" {
			return o, fmt.Errorf("sim/hub: registered client with an empty ID")
		}
		if seen[id] {
			return o, fmt.Errorf("sim/hub: client %q registered twice", c.ID)
		}
		seen[id] = true
		if c.Secret == "" && c.Certificate == nil {
			return o, fmt.Errorf("sim/hub: client %q has neither a secret nor a certificate", c.ID)
		}
	}
	if r := o.Scenario.Replies.Rotate; r < RotateAsync || r > RotateBareAccepted {
		return o, fmt.Errorf("sim/hub: scenario %q: unknown rotate response %d", o.Scenario.Name, int(r))
	}
	if err := o.Scenario.validate(); err != nil {
		return o, err
	}
	for _, f := range o.Faults {
		if err := f.validate(); err != nil {
			return o, err
		}
	}
	if o.CA == nil {
		ca, err := certs.NewCA(certs.DefaultCAName,
			time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2099, 12, 31, 0, 0, 0, 0, time.UTC))
		if err != nil {
			return o, err
		}
		o.CA = ca
	}
	return o, nil
}

// graphAudience is the second resource the identity provider issues tokens
// for (the metadata's graphEndpoint): a valid token that ARM must refuse
// with InvalidAuthenticationTokenAudience.
func (o Options) graphAudience() string {
	return fmt.Sprintf("https://graph.%s.%s/", o.Region, o.ExternalFQDN)
}
