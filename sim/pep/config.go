package pep

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/runbook-dev/runbook/clock"
	"github.com/runbook-dev/runbook/sim/certs"
)

// DefaultConfigurationName is the PEP's session configuration.
const DefaultConfigurationName = "PrivilegedEndpoint"

// Config configures a simulated PEP. The zero value is usable.
type Config struct {
	// ConfigurationName is the session configuration served; default
	// DefaultConfigurationName.
	ConfigurationName string
	// Clock times action plans and stamps transcripts; default clock.Real.
	Clock clock.Clock
	// Rand supplies session keys, salts and action ids; default
	// crypto/rand.
	Rand io.Reader
	// ComputerName is reported as PSComputerName; default "AzS-ERCS01".
	ComputerName string
	// Nodes names the scale-unit nodes, one fake BMC each; default three,
	// "AzS-Node01".."AzS-Node03".
	Nodes []string
	// BMCUser and BMCPassword are every BMC's initial credential; defaults
	// "root" and "Initial-Bmc-1". Only a salted HMAC of the password is
	// kept.
	BMCUser, BMCPassword string
	// BMCPolicy is what a BMC accepts as a new password; default
	// DefaultBMCPolicy. It never sees more than the password.
	BMCPolicy func(password string) error
	// LegacyOnly exposes only the older Set-BmcPassword (stamps before
	// Set-BmcCredential existed).
	LegacyOnly bool
	// BMCUpdateTime is how long Set-BmcCredential's action plan runs per
	// node, on Clock; default 20s.
	BMCUpdateTime time.Duration
	// RotationTime is how long Start-SecretRotation runs (external or
	// internal), on Clock; default 1h (the documented external duration).
	RotationTime time.Duration
	// TestTime is how long each Test-AzureStack category runs, on Clock;
	// default 20s.
	TestTime time.Duration
	// MaxSessions limits concurrent PEP sessions; 0 means 3.
	MaxSessions int
	// StatePath, when set, is a JSON file the stamp state is loaded from (if
	// it exists) and saved to after every change. It holds password HMACs,
	// never passwords.
	StatePath string
	// Stamp is what Get-AzureStackStampInformation returns; zero fields get
	// plausible defaults.
	Stamp StampInfo
	// OnSecretRotation, when set, is told of every Start-SecretRotation
	// that completed (internal for -Internal), so that a simulated Hub can
	// renew the stamp's secrets and close their expiry alerts.
	OnSecretRotation func(internal bool)
	// CA is the stamp's root: it issued the external certificates the
	// endpoints serve at first, and new ones must chain to it. Nil: the
	// stamp has no external certificates to serve.
	CA *certs.CA
	// Shares are the file shares Start-SecretRotation can read. With none,
	// an external rotation does not read its -PfxFilesPath at all.
	Shares []Share
}

// StampInfo is the subset of Get-AzureStackStampInformation's output that
// public scripts read.
type StampInfo struct {
	StampVersion, CloudID, DeploymentID, RegionName   string
	ExternalDomainFQDN, DomainFQDN, DomainNetBIOSName string
	Timezone, AADTenantID, AADTenantName              string
	// IdentitySystem is "AzureAD" or "ADFS".
	IdentitySystem              string
	EmergencyConsoleIPAddresses []string
	AdminPortal                 string
	AdminResourceManager        string
	TenantPortal                string
	TenantResourceManager       string
	// RootCANotAfter is the expiry of the stamp's root CA.
	RootCANotAfter time.Time
}

// DefaultBMCPolicy accepts 8 to 16 printable ASCII characters without
// spaces: at most 16 is the PEP's documented limit; the rest is what common
// BMCs (iDRAC, iLO, XClarity) refuse. Its errors never quote the password.
func DefaultBMCPolicy(pw string) error {
	if len(pw) < 8 {
		return errors.New("the password is shorter than 8 characters")
	}
	if len(pw) > 16 {
		return errors.New("the password is longer than 16 characters")
	}
	for i := 0; i < len(pw); i++ {
		if pw[i] <= ' ' || pw[i] > '~' {
			return fmt.Errorf("the password has a character the BMC does not accept at position %d", i+1)
		}
	}
	return nil
}

func (c *Config) defaults() {
	if c.ConfigurationName == "" {
		c.ConfigurationName = DefaultConfigurationName
	}
	if c.Clock == nil {
		c.Clock = clock.Real
	}
	if c.Rand == nil {
		c.Rand = rand.Reader
	}
	if c.ComputerName == "" {
		c.ComputerName = "AzS-ERCS01"
	}
	if len(c.Nodes) == 0 {
		c.Nodes = []string{"AzS-Node01", "AzS-Node02", "AzS-Node03"}
	}
	if c.BMCUser == "" {
		c.BMCUser = "root"
	}
	if c.BMCPassword == "" {
		c.BMCPassword = "Initial-Bmc-1"
	}
	if c.BMCPolicy == nil {
		c.BMCPolicy = DefaultBMCPolicy
	}
	if c.BMCUpdateTime <= 0 {
		c.BMCUpdateTime = 20 * time.Second
	}
	if c.RotationTime <= 0 {
		c.RotationTime = time.Hour
	}
	if c.TestTime <= 0 {
		c.TestTime = 20 * time.Second
	}
	if c.MaxSessions <= 0 {
		c.MaxSessions = 3
	}
	s := &c.Stamp
	def := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	def(&s.StampVersion, "1.2408.0.20")
	def(&s.CloudID, "6b1d6c5a-2f5e-4b4f-9e0a-3f6f6b0c2a11")
	def(&s.DeploymentID, "0e6c4f3e-8d4b-4a57-9d0b-5b1d2c7e9f10")
	def(&s.RegionName, "local")
	def(&s.ExternalDomainFQDN, "local.azurestack.external")
	def(&s.DomainFQDN, "azurestack.local")
	def(&s.DomainNetBIOSName, "AZURESTACK")
	def(&s.Timezone, "Pacific Standard Time")
	def(&s.AADTenantID, "3c0f8f43-6e7c-4a5b-8d52-2a1f3b4c5d6e")
	def(&s.AADTenantName, "contoso.onmicrosoft.com")
	def(&s.IdentitySystem, "AzureAD")
	if len(s.EmergencyConsoleIPAddresses) == 0 {
		s.EmergencyConsoleIPAddresses = []string{"10.0.0.224", "10.0.0.225", "10.0.0.226"}
	}
	def(&s.AdminPortal, "https://adminportal."+s.ExternalDomainFQDN+"/")
	def(&s.AdminResourceManager, "https://adminmanagement."+s.ExternalDomainFQDN+"/")
	def(&s.TenantPortal, "https://portal."+s.ExternalDomainFQDN+"/")
	def(&s.TenantResourceManager, "https://management."+s.ExternalDomainFQDN+"/")
	if s.RootCANotAfter.IsZero() {
		s.RootCANotAfter = time.Date(2031, 5, 4, 12, 0, 0, 0, time.UTC)
	}
}
