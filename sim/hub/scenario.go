package hub

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Scenario is the initial data of a simulated stamp: the value-add resource
// providers installed on it and their secrets. It is plain data, so tests
// build their own or adjust a named one.
type Scenario struct {
	// Name identifies the scenario in messages.
	Name string `json:"name"`
	// Products are the installed resource providers.
	Products []Product `json:"products"`
	// Replies selects the reply shapes the stamp uses.
	Replies Replies `json:"replies"`
	// Infrastructure places the stamp's own secrets' expiry (alerts.go);
	// nil means the defaults, far beyond the alert thresholds.
	Infrastructure []InfraSecret `json:"infrastructure,omitempty"`
}

// Product is one installed resource provider (a product deployment and its
// deployed package).
type Product struct {
	// ID is the product id, e.g. "microsoft.eventhub". ARM echoes product
	// ids in lower case, so IDs are stored lower case.
	ID string `json:"id"`
	// Version is the deployed package version, e.g. "1.2003.0.0"; the
	// package id is ID + "." + Version.
	Version string `json:"version"`
	// SANLabel names the certificate the product needs: uploaded
	// certificates must carry the DNS SAN *.<SANLabel>.<region>.<fqdn>
	// ("eventhub", "dbadapter").
	SANLabel string `json:"sanLabel"`
	// RotationDuration is how long rotateSecrets takes on the stamp clock.
	RotationDuration time.Duration `json:"rotationDuration"`
	// RetryAfter is the poll interval the stamp suggests in Retry-After
	// while rotating; default RotationDuration/240, clamped to 5 s – 60 s.
	RetryAfter time.Duration `json:"retryAfter,omitempty"`
	// RotationFailures scripts failing rotations: the n-th rotation (from
	// the first) fails when its progress reaches RotationFailures[n]
	// percent; later rotations succeed. {60} = the first rotation fails at
	// 60 %, a retry succeeds.
	RotationFailures []float64 `json:"rotationFailures,omitempty"`
	// Secrets are the package's secrets.
	Secrets []Secret `json:"secrets"`
	// BootstrapOnly makes the product bootstrapped but never deployed, as
	// the specification's ProductDeployment/Get.json example shows: status
	// BootstrapSucceeded and neither deployment nor
	// lastSuccessfulDeployment, so no deployed package version is named.
	// Its package is still served under ID + "." + Version; rotateSecrets
	// is refused.
	BootstrapOnly bool `json:"bootstrapOnly,omitempty"`
}

// Secret is one secret of a product package.
type Secret struct {
	// Name is the secret's name, e.g. "aseh-ssl-gateway-pfx", "SSLCert".
	Name string `json:"name"`
	// Kind is the secretKind: Certificate, Password, SymmetricKey, AdHoc or
	// StorageAccount. Only Certificate secrets can be imported here; the
	// others are internal and rotated by rotateSecrets alone.
	Kind string `json:"kind"`
	// Description is shown as properties.description.
	Description string `json:"description,omitempty"`
	// ExpiresAfter is the ISO 8601 period shown as expiresAfter (P730D).
	ExpiresAfter string `json:"expiresAfter,omitempty"`
	// ExpiresIn places the current secret's expirationDate relative to the
	// clock when the stamp is first created.
	ExpiresIn time.Duration `json:"expiresIn"`
	// NoExpiry leaves expirationDate out of secretState until a rotation
	// deploys a certificate, as the specification's ProductSecret examples
	// do.
	NoExpiry bool `json:"noExpiry,omitempty"`
}

// Host returns the certificate host name the product requires on a stamp,
// e.g. "*.eventhub.local.azurestack.external".
func (p Product) Host(region, fqdn string) string {
	return "*." + strings.ToLower(p.SANLabel) + "." + strings.ToLower(region) + "." + strings.ToLower(fqdn)
}

// retryAfter returns the product's poll interval, applying the default.
func (p Product) retryAfter() time.Duration {
	if p.RetryAfter > 0 {
		return p.RetryAfter
	}
	d := p.RotationDuration / 240
	return min(max(d, 5*time.Second), 60*time.Second)
}

const day = 24 * time.Hour

// The products of the documented simulated stamp.
func eventHubProduct() Product {
	return Product{
		ID: "microsoft.eventhub", Version: "1.2003.0.0", SANLabel: "eventhub",
		RotationDuration: 4 * time.Hour,
		Secrets: []Secret{{
			Name: "aseh-ssl-gateway-pfx", Kind: "Certificate",
			Description: "Event Hubs gateway SSL certificate.", ExpiresAfter: "P730D",
			ExpiresIn: 25 * day,
		}},
	}
}

func sqlProduct() Product {
	return Product{
		ID: "microsoft.sqlrp", Version: "2.0.0.2", SANLabel: "dbadapter",
		RotationDuration: 15 * time.Minute,
		Secrets: []Secret{{
			Name: "SSLCert", Kind: "Certificate",
			Description: "SQL resource provider adapter SSL certificate.", ExpiresAfter: "P365D",
			ExpiresIn: 200 * day,
		}},
	}
}

func mySQLProduct() Product {
	p := sqlProduct()
	p.ID = "microsoft.mysqlrp"
	p.Secrets[0].Description = "MySQL resource provider adapter SSL certificate."
	p.Secrets[0].ExpiresIn = 150 * day
	return p
}

// DefaultScenario is the documented simulated stamp: microsoft.eventhub
// 1.2003.0.0 (certificate aseh-ssl-gateway-pfx expiring 25 days after the
// stamp is created, rotation 4 h) and microsoft.sqlrp 2.0.0.2 (certificate
// SSLCert, expiring after 200 days, rotation 15 min).
func DefaultScenario() Scenario {
	return Scenario{Name: "default", Products: []Product{eventHubProduct(), sqlProduct()}}
}

// scenarios are the named scenarios, built fresh on every lookup so callers
// may modify what they get.
var scenarios = map[string]func() Scenario{
	"default": DefaultScenario,
	// with-mysql adds microsoft.mysqlrp 2.0.0.2 (SSLCert, 150 days).
	"with-mysql": func() Scenario {
		s := DefaultScenario()
		s.Name = "with-mysql"
		s.Products = append(s.Products, mySQLProduct())
		return s
	},
	// near-expiry: three products whose certificates expire in 3, 9 and
	// 20 days; the stamp's external certificates expire in 25 days
	// (a critical alert), its internal certificates in 60 (a warning), its
	// service account passwords in 200.
	"near-expiry": func() Scenario {
		eh, sql, my := eventHubProduct(), sqlProduct(), mySQLProduct()
		eh.Secrets[0].ExpiresIn, sql.Secrets[0].ExpiresIn, my.Secrets[0].ExpiresIn = 3*day, 9*day, 20*day
		return Scenario{Name: "near-expiry", Products: []Product{eh, sql, my}, Infrastructure: []InfraSecret{
			{Kind: InfraExternalCertificates, ExpiresIn: 25 * day},
			{Kind: InfraInternalCertificates, ExpiresIn: 60 * day},
			{Kind: InfraServiceAccounts, ExpiresIn: 200 * day},
		}}
	},
	// bare-202: the default stamp answering rotateSecrets with a 202 that
	// has no header and no body, as the specification's example does.
	"bare-202": func() Scenario {
		s := DefaultScenario()
		s.Name, s.Replies.Rotate = "bare-202", RotateBareAccepted
		return s
	},
	// async-secrets: the default stamp running validate and import as
	// long-running operations, whose failed results say why (the error
	// field ARM's asynchronous pattern has, which the specification's
	// OperationResult lacks).
	"async-secrets": func() Scenario {
		s := DefaultScenario()
		s.Name, s.Replies.AsyncSecrets, s.Replies.OperationErrors = "async-secrets", true, true
		return s
	},
	// operation-errors: the rotation-fails stamp with an error field in
	// failed operation results and a bare properties.error, as a stamp
	// that differs from the specification may answer.
	"operation-errors": func() Scenario {
		s := DefaultScenario()
		s.Name, s.Replies.OperationErrors = "operation-errors", true
		s.Products[0].RotationFailures = []float64{60}
		return s
	},
	// spec-examples: every shape of the specification's examples at once:
	// bare-array lists, a bare 202 from rotateSecrets, asynchronous
	// validate and import, operation results under locations/redmond
	// spelled operationResults, and beside the default products a
	// bootstrap-only microsoft.iothubpreview whose secret has no
	// expirationDate.
	"spec-examples": func() Scenario {
		s := DefaultScenario()
		s.Name = "spec-examples"
		s.Replies = Replies{Rotate: RotateBareAccepted, AsyncSecrets: true, BareLists: true,
			OperationLocation: "redmond", OperationResultsCasing: true}
		s.Products = append(s.Products, Product{
			ID: "microsoft.iothubpreview", Version: "1.0.2", SANLabel: "iothub", RotationDuration: time.Hour,
			BootstrapOnly: true,
			Secrets: []Secret{{Name: "sslCert", Kind: KindCertificate, Description: "Application SSL certificate.",
				ExpiresAfter: "P365D", NoExpiry: true}},
		})
		return s
	},
	// rotation-fails: the default stamp whose first Event Hubs rotation
	// fails at 60 %; a second attempt succeeds.
	"rotation-fails": func() Scenario {
		s := DefaultScenario()
		s.Name = "rotation-fails"
		s.Products[0].RotationFailures = []float64{60}
		return s
	},
}

// ScenarioNames returns the names ScenarioByName knows, sorted.
func ScenarioNames() []string {
	names := make([]string, 0, len(scenarios))
	for n := range scenarios {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ScenarioByName returns a fresh copy of the named scenario.
func ScenarioByName(name string) (Scenario, error) {
	f, ok := scenarios[strings.ToLower(name)]
	if !ok {
		return Scenario{}, fmt.Errorf("sim/hub: unknown scenario %q (known: %s)", name, strings.Join(ScenarioNames(), ", "))
	}
	return f(), nil
}

// validate reports the first inconsistency of a scenario.
func (s *Scenario) validate() error {
	ids := map[string]bool{}
	for _, p := range s.Products {
		id := strings.ToLower(p.ID)
		switch {
		case id == "" || p.Version == "":
			return fmt.Errorf("sim/hub: scenario %q: product needs an ID and a Version", s.Name)
		case ids[id]:
			return fmt.Errorf("sim/hub: scenario %q: product %q listed twice", s.Name, p.ID)
		case p.RotationDuration <= 0:
			return fmt.Errorf("sim/hub: scenario %q: product %q: RotationDuration must be positive", s.Name, p.ID)
		}
		ids[id] = true
		for _, f := range p.RotationFailures {
			if f <= 0 || f >= 100 {
				return fmt.Errorf("sim/hub: scenario %q: product %q: failure point %v%% outside (0, 100)", s.Name, p.ID, f)
			}
		}
		names := map[string]bool{}
		for _, sec := range p.Secrets {
			n := strings.ToLower(sec.Name)
			if n == "" || names[n] {
				return fmt.Errorf("sim/hub: scenario %q: product %q: secret names must be unique and non-empty", s.Name, p.ID)
			}
			names[n] = true
			if !validKinds[sec.Kind] {
				return fmt.Errorf("sim/hub: scenario %q: secret %q: unknown kind %q", s.Name, sec.Name, sec.Kind)
			}
			if sec.Kind == KindCertificate && p.SANLabel == "" {
				return fmt.Errorf("sim/hub: scenario %q: product %q has a certificate secret but no SANLabel", s.Name, p.ID)
			}
		}
	}
	return nil
}

// KindCertificate is the secretKind of a certificate secret, the only kind
// validate and import accept here.
const KindCertificate = "Certificate"

var validKinds = map[string]bool{
	KindCertificate: true, "Password": true, "SymmetricKey": true, "AdHoc": true, "StorageAccount": true,
}
