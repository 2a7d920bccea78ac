package steps

import (
	"crypto/x509"
	"encoding/pem"
	"strings"
	"time"

	"github.com/runbook-dev/runbook/internal/boundedread"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/runbook-dev/runbook/certcheck"
	"github.com/runbook-dev/runbook/executor"
	"github.com/runbook-dev/runbook/lang"
	"github.com/zclconf/go-cty/cty"
)

// SecretRotation is the secret_rotation step type: the stamp's own
// secrets, rotated with Start-SecretRotation on the Privileged Endpoint.
//
//	step "secret_rotation" "external" {
//	  pep               = pep.east
//	  kind              = "external"
//	  identity          = "adfs"                          # aad or adfs: the folder tree
//	  certificate_dir   = "share/Certificates"            # read locally (on Windows, the UNC path itself)
//	  certificate_share = "\\\\10.0.0.5\\share\\Certificates" # what the PEP reads
//	  share_username    = "CONTOSO\\certshare"
//	  share_password    = var.share_password
//	  pfx_password      = var.pfx_password
//	  ca_file           = "certs/root-ca.pem"             # optional: the stamp's current root
//	  trusted_roots     = ["certs/new-root.pem"]          # optional: a CA change
//	  min_validity      = "90d"                           # optional: stricter than 7 days
//	}
//	step "secret_rotation" "internal" {
//	  pep     = pep.east
//	  kind    = "internal"
//	  max_age = "180d"
//	}
//
// Plan judges every PFX of the certificate folder by the Readiness
// Checker's rules (package certcheck) for the endpoint its folder serves,
// and shows each endpoint's certificate beside the one the stamp serves
// now (read over TLS). It proposes no change when every endpoint already
// serves its PFX's certificate; a failed rotation makes it propose
// Start-SecretRotation -ReRun instead of a fresh start. Unless readiness is
// false, plan and apply first run Test-AzureStack -Group
// SecretRotationReadiness, and any warning or failure blocks. Apply runs
// Start-SecretRotation with the passwords as SecureString and
// PSCredential, streams its progress, journals its action plan instance id
// and, after a crash or a dropped session, re-attaches with
// Get-ActionStatus rather than starting a second rotation. An external
// rotation is verified with Test-AzureStack -Include
// AzsExternalCertificates.
type SecretRotation struct {
	peps   PEPSource
	served ServedCertificates
	// poll is how often Resume asks Get-ActionStatus; 0 is pollInterval.
	poll time.Duration
}

var _ executor.StepType = SecretRotation{}

// NewSecretRotation returns the secret_rotation step type; served reads
// the certificates the stamp's endpoints present (nil: TLSServed with the
// system's dialer).
func NewSecretRotation(peps PEPSource, served ServedCertificates) executor.StepType {
	if served == nil {
		served = TLSServed{}
	}
	return SecretRotation{peps: peps, served: served}
}

// The kinds of rotation.
const (
	KindExternal = "external"
	KindInternal = "internal"
)

// Expected durations. External: "about an hour" (Rotate secrets in Azure
// Stack Hub, 2021 and 2022). Internal: Microsoft documents none; the only
// published figure for a rotation that included the internal secrets is
// the 1803-era "about seven hours", and external rotation has since shrunk
// from seven hours to one, so four hours leaves room for the many
// infrastructure roles and nodes an internal rotation visits without
// claiming the 1803 figure still holds.
const (
	externalExpected = time.Hour
	internalExpected = 4 * time.Hour
)

// defaultMaxAge is how old the last internal rotation the journal shows
// may be before plan proposes another: twice a year, well inside the
// internal certificates' yearly renewal and its 90-day expiry alerts.
const defaultMaxAge = 180 * 24 * time.Hour

// Keys of a secret_rotation change's Private map, Fingerprints and Result.
const (
	// PrivateRerun is "true" when the plan runs -ReRun.
	PrivateRerun = "rerun"
	// PrivateFiles is the SHA-256 of the certificate tree's PFX files.
	PrivateFiles = "files"
	// FingerprintPFXPassword and FingerprintSharePassword are the HMACs
	// apply checks its values against.
	FingerprintPFXPassword   = "pfx_password"
	FingerprintSharePassword = "share_password"
	// ResultActionPlan is the action plan instance id of the rotation.
	ResultActionPlan = "action_plan"
	// ResultFiles is PrivateFiles of the successful rotation.
	ResultFiles = "files"
)

var secretRotationSpec = &hcldec.ObjectSpec{
	"pep":               &hcldec.AttrSpec{Name: "pep", Type: cty.DynamicPseudoType, Required: true},
	"kind":              &hcldec.AttrSpec{Name: "kind", Type: cty.String, Required: true},
	"identity":          &hcldec.AttrSpec{Name: "identity", Type: cty.String},
	"certificate_dir":   &hcldec.AttrSpec{Name: "certificate_dir", Type: cty.String},
	"certificate_share": &hcldec.AttrSpec{Name: "certificate_share", Type: cty.String},
	"share_username":    &hcldec.AttrSpec{Name: "share_username", Type: cty.String},
	"share_password":    &hcldec.AttrSpec{Name: "share_password", Type: cty.String},
	"pfx_password":      &hcldec.AttrSpec{Name: "pfx_password", Type: cty.String},
	"ca_file":           &hcldec.AttrSpec{Name: "ca_file", Type: cty.String},
	"trusted_roots":     &hcldec.AttrSpec{Name: "trusted_roots", Type: cty.List(cty.String)},
	"min_validity":      &hcldec.AttrSpec{Name: "min_validity", Type: cty.String},
	"max_age":           &hcldec.AttrSpec{Name: "max_age", Type: cty.String},
	"readiness":         &hcldec.AttrSpec{Name: "readiness", Type: cty.Bool},
}

// secretRotationOutputs is step.NAME: the pep block, the kind, whether the
// run is a -ReRun, and the SHA-256 thumbprint of each endpoint's new
// certificate by folder (empty for internal).
var secretRotationOutputs = cty.Object(map[string]cty.Type{
	"pep":         cty.String,
	"kind":        cty.String,
	"rerun":       cty.Bool,
	"thumbprints": cty.Map(cty.String),
})

// Name returns "secret_rotation".
func (SecretRotation) Name() string { return "secret_rotation" }

// Schema returns the body schema.
func (SecretRotation) Schema() hcldec.Spec { return secretRotationSpec }

// Outputs returns {pep, kind, rerun, thumbprints}.
func (SecretRotation) Outputs() cty.Type { return secretRotationOutputs }

// Info: an hour external, four hours internal; never repeat-safe (a second
// Start-SecretRotation is a second rotation).
func (SecretRotation) Info(config cty.Value) executor.Info {
	s := &stepConfig{val: config}
	info := executor.Info{ExpectedDuration: externalExpected, Timeout: 4 * time.Hour}
	if s.str("kind") == KindInternal {
		info.ExpectedDuration, info.Timeout = internalExpected, 12*time.Hour
	}
	if name := s.pepRef(); name != "" {
		info.Targets = []string{"pep." + name}
	}
	return info
}

// srConfig is a secret_rotation body, read and checked locally.
type srConfig struct {
	*stepConfig
	pepName, kind              string
	identity                   certcheck.Identity
	dir, share, shareUser      string
	sharePassword, pfxPassword string
	caFile                     string
	trusted                    []string
	minValidity, maxAge        time.Duration
	readiness                  bool
	// attach is set by plan when it re-attaches to a running rotation.
	attach bool
}

func readSRConfig(s *stepConfig) *srConfig {
	c := &srConfig{stepConfig: s, pepName: s.pepRef(), kind: s.str("kind"), readiness: true, maxAge: defaultMaxAge}
	if v, ok := s.get("readiness"); ok && v.Type() == cty.Bool {
		c.readiness = v.True()
	}
	if d := s.str("max_age"); d != "" {
		c.maxAge = c.duration("max_age", d)
	}
	if d := s.str("min_validity"); d != "" {
		c.minValidity = c.duration("min_validity", d)
	}
	external := []string{"identity", "certificate_dir", "certificate_share", "share_username", "share_password", "pfx_password"}
	switch c.kind {
	case KindInternal:
		for _, n := range append(external, "ca_file", "trusted_roots", "min_validity") {
			if _, ok := s.get(n); ok {
				c.errorf(n, "Argument not used by internal rotation",
					"%s is for kind = \"external\"; Start-SecretRotation -Internal reads no certificates. Remove it.", n)
			}
		}
		return c
	case KindExternal:
	case "":
		return c // unknown at validate
	default:
		c.errorf("kind", "Invalid rotation kind", "kind is %q; it must be \"external\" (the stamp's external certificates) or \"internal\" (its internal secrets).", c.kind)
		return c
	}
	if _, ok := s.get("max_age"); ok {
		c.errorf("max_age", "Argument not used by external rotation", "max_age is for kind = \"internal\"; an external rotation is due when the certificate folder holds certificates the stamp does not serve yet. Remove it.")
	}
	for _, n := range external {
		if _, ok := s.get(n); !ok && !s.offline {
			c.errorf(n, "Missing argument for external rotation", "An external rotation needs %s.", n)
		}
	}
	if id := s.str("identity"); id != "" {
		var err error
		if c.identity, err = certcheck.ParseIdentity(id); err != nil {
			c.errorf("identity", "Invalid identity", "%s: the stamp's identity provider picks the folder tree, Certificates\\AAD or Certificates\\ADFS.", err)
		}
	}
	c.dir, c.share, c.shareUser = s.str("certificate_dir"), s.str("certificate_share"), s.str("share_username")
	c.sharePassword, c.pfxPassword = s.str("share_password"), s.str("pfx_password")
	c.caFile = s.str("ca_file")
	if v, ok := s.get("trusted_roots"); ok && v.CanIterateElements() {
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			if e.Type() == cty.String && !e.IsNull() {
				c.trusted = append(c.trusted, e.AsString())
			}
		}
	}
	if c.share != "" {
		c.checkShare()
	}
	for _, n := range []string{"share_password", "pfx_password"} {
		if v, ok := s.val.Type().AttributeTypes()[n]; ok && v == cty.String && !s.val.GetAttr(n).IsNull() && !s.val.GetAttr(n).HasMark(lang.Sensitive) {
			c.errorf(n, "Secret not marked sensitive",
				"%s must come from a sensitive variable or env(), so that runbook never prints it: declare the variable with sensitive = true.", n)
		}
	}
	if c.pfxPassword != "" {
		for _, f := range certcheck.CheckPassword(c.pfxPassword) {
			c.errorf("pfx_password", "PFX password fails the \""+string(f.Rule)+"\" check", "%s", f.Message)
		}
	}
	return c
}

// checkShare checks the UNC path: \\host\share\...\Certificates.
func (c *srConfig) checkShare() {
	p := c.share
	host, rest, ok := strings.Cut(strings.TrimPrefix(p, `\\`), `\`)
	switch {
	case !strings.HasPrefix(p, `\\`) || !ok || host == "" || rest == "":
		c.errorf("certificate_share", "Not a UNC path", "certificate_share is %q; the PEP reads the certificates from a file share, \\\\<host>\\<share>\\Certificates.", p)
	case !strings.EqualFold(p[strings.LastIndex(p, `\`)+1:], "Certificates"):
		c.errorf("certificate_share", "Share path must end in Certificates",
			"certificate_share is %q; Start-SecretRotation's -PfxFilesPath must end in \\Certificates (the folder that holds the %s folder).", p, orDefault(string(c.identity), "AAD or ADFS"))
	}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func (c *srConfig) duration(name, v string) time.Duration {
	d, err := lang.ParseDuration(v)
	if err != nil || d <= 0 {
		c.errorf(name, "Invalid duration", "%s is %q; write a duration such as \"90d\" or \"720h\".", name, v)
		return 0
	}
	return d
}

// roots reads ca_file and trusted_roots, with diagnostics on them.
func (c *srConfig) roots(rb *lang.Runbook) (current, trusted []*x509.Certificate) {
	if c.caFile != "" {
		current = c.readPEM(rb, "ca_file", c.caFile)
	}
	for _, f := range c.trusted {
		trusted = append(trusted, c.readPEM(rb, "trusted_roots", f)...)
	}
	return current, trusted
}

func (c *srConfig) readPEM(rb *lang.Runbook, attr, name string) []*x509.Certificate {
	path := runbookPath(rb, name)
	data, err := boundedread.File(path, boundedread.Cert)
	if err != nil {
		c.errorf(attr, "Cannot read the root CA file", "Reading %s failed: %s.", path, pathError(err))
		return nil
	}
	var out []*x509.Certificate
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			c.errorf(attr, "Invalid root CA file", "%s holds a certificate that cannot be parsed: %s.", path, err)
			return nil
		}
		out = append(out, cert)
	}
	if len(out) == 0 {
		c.errorf(attr, "Invalid root CA file", "%s holds no PEM CERTIFICATE block.", path)
	}
	return out
}

// secrets are the values this step must never print.
func (c *srConfig) secrets(rb *lang.Runbook) []string {
	out := []string{c.pfxPassword, c.sharePassword}
	if rb != nil {
		if b, ok := rb.PEPs[c.pepName]; ok {
			out = append(out, b.Password.Reveal())
		}
	}
	return out
}

// ValidateConfig checks the kind, the arguments it needs, the share path
// and the PFX password's characters.
func (SecretRotation) ValidateConfig(rb *lang.Runbook, step *lang.Step, config cty.Value) hcl.Diagnostics {
	return readSRConfig(offlineConfig(step, config)).diags
}

// thumbprints returns a cty map of folder → thumbprint.
func thumbprints(m map[string]string) cty.Value {
	if len(m) == 0 {
		return cty.MapValEmpty(cty.String)
	}
	vals := map[string]cty.Value{}
	for k, v := range m {
		vals[k] = cty.StringVal(v)
	}
	return cty.MapVal(vals)
}

func (c *srConfig) outputs(rerun bool, tp map[string]string) cty.Value {
	return cty.ObjectVal(map[string]cty.Value{
		"pep": cty.StringVal(c.pepName), "kind": cty.StringVal(c.kind), "rerun": cty.BoolVal(rerun), "thumbprints": thumbprints(tp),
	})
}

// ResultKeys are the facts the journal keeps of a rotation: the action
// plan's id and the hash of the certificate files it installed.
func (SecretRotation) ResultKeys() []string { return []string{ResultActionPlan, ResultFiles} }
