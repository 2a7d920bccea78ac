package pep

import (
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/runbook-dev/runbook/certcheck"
	"github.com/runbook-dev/runbook/pep/psrp"
	"github.com/runbook-dev/runbook/sim/certs"
	"software.sslmate.com/src/go-pkcs12"
)

// Share is a file share the ERCS VMs can reach, mapped to a local
// directory: \\host\share\rest is Dir\rest.
type Share struct {
	// UNC is \\host\share, compared case-insensitively.
	UNC string
	Dir string
	// Username and Password, when set, are the only credential the share
	// accepts; the simulator compares them in memory and never stores
	// them.
	Username, Password string
}

// external is the state of the stamp's external certificates: what each
// endpoint serves. It is kept beside the PEP's state file, with the keys,
// so that the simulated endpoints keep serving across runs.
type external struct {
	mu     sync.Mutex
	served map[string]*servedCert // by endpoint folder
	// staged are the certificates a failed external rotation validated,
	// which -ReRun installs.
	staged map[string]*servedCert
	// resume starts continueRotations once, when the first session opens.
	resume sync.Once
	// calls counts Start-SecretRotation runs (see RotationCalls).
	calls int
	// tests holds scenario results of Test-AzureStack categories.
	tests map[string][2]string
}

// externalFile is the JSON form of the external certificates.
type externalFile struct {
	Calls  int                    `json:"startSecretRotationCalls"`
	Served map[string]*servedCert `json:"served"`
	Staged map[string]*servedCert `json:"staged,omitempty"`
}

// servedCert is one endpoint's certificate and key.
type servedCert struct {
	Host string `json:"host"`
	DER  []byte `json:"der"`
	Key  []byte `json:"key"` // PKCS#8
	cert *x509.Certificate
	tls  *tls.Certificate
}

func (s *servedCert) parse() error {
	c, err := x509.ParseCertificate(s.DER)
	if err != nil {
		return err
	}
	k, err := x509.ParsePKCS8PrivateKey(s.Key)
	if err != nil {
		return err
	}
	s.cert, s.tls = c, &tls.Certificate{Certificate: [][]byte{s.DER}, PrivateKey: k, Leaf: c}
	return nil
}

// externalPath is the file the external certificates are kept in.
func (p *PEP) externalPath() string {
	if p.cfg.StatePath == "" {
		return ""
	}
	return strings.TrimSuffix(p.cfg.StatePath, filepath.Ext(p.cfg.StatePath)) + "-external.json"
}

// stampName returns the region and the external domain below it.
func (p *PEP) stampName() (region, fqdn string) {
	st := p.cfg.Stamp
	return strings.ToLower(st.RegionName), strings.ToLower(strings.TrimPrefix(st.ExternalDomainFQDN, st.RegionName+"."))
}

// identity is the stamp's certificate tree.
func (p *PEP) identity() certcheck.Identity {
	if strings.EqualFold(p.cfg.Stamp.IdentitySystem, "ADFS") {
		return certcheck.ADFS
	}
	return certcheck.AAD
}

// loadExternal reads the served certificates, or issues the deployment's
// from cfg.CA (valid a year from now) when there are none yet. Without a
// CA the stamp has no external certificates to serve.
func (p *PEP) loadExternal() error {
	p.ext.served = map[string]*servedCert{}
	if path := p.externalPath(); path != "" {
		b, err := os.ReadFile(path)
		switch {
		case err == nil:
			var f externalFile
			if err := json.Unmarshal(b, &f); err != nil {
				return fmt.Errorf("sim/pep: load %s: %w", path, err)
			}
			for _, m := range []map[string]*servedCert{f.Served, f.Staged} {
				for name, s := range m {
					if err := s.parse(); err != nil {
						return fmt.Errorf("sim/pep: load %s: %s: %w", path, name, err)
					}
				}
			}
			if f.Served != nil {
				p.ext.served = f.Served
			}
			p.ext.staged, p.ext.calls = f.Staged, f.Calls
			return nil
		case !errors.Is(err, fs.ErrNotExist):
			return fmt.Errorf("sim/pep: load external certificates: %w", err)
		}
	}
	if p.cfg.CA == nil {
		return nil
	}
	region, fqdn := p.stampName()
	now := p.clk.Now()
	for _, ep := range certcheck.Endpoints(p.identity()) {
		if ep.Optional {
			continue
		}
		host := ep.Host(region, fqdn)
		data, err := p.cfg.CA.IssuePFX(certs.PFXOptions{Hosts: []string{host}, Now: now, Password: "deployment"})
		if err != nil {
			return err
		}
		key, leaf, _, err := pkcs12.DecodeChain(data, "deployment")
		if err != nil {
			return err
		}
		keyDER, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return err
		}
		s := &servedCert{Host: host, DER: leaf.Raw, Key: keyDER}
		if err := s.parse(); err != nil {
			return err
		}
		p.ext.served[ep.Folder] = s
	}
	return p.saveExternal()
}

func (p *PEP) saveExternal() error {
	path := p.externalPath()
	if path == "" {
		return nil
	}
	p.ext.mu.Lock()
	b, err := json.MarshalIndent(externalFile{Calls: p.ext.calls, Served: p.ext.served, Staged: p.ext.staged}, "", "  ")
	p.ext.mu.Unlock()
	if err != nil {
		return err
	}
	return writeFileAtomic(path, b)
}

// ServedCertificate returns the certificate the endpoint whose DNS name is
// host (a wildcard endpoint serves every name below it) presents now, or
// nil.
func (p *PEP) ServedCertificate(host string) *x509.Certificate {
	if s := p.servedFor(host); s != nil {
		return s.cert
	}
	return nil
}

func (p *PEP) servedFor(host string) *servedCert {
	p.ext.mu.Lock()
	defer p.ext.mu.Unlock()
	names := make([]string, 0, len(p.ext.served))
	for n := range p.ext.served {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		s := p.ext.served[n]
		if strings.EqualFold(s.Host, host) || certcheck.Covers([]string{s.Host}, host) {
			return s
		}
	}
	return nil
}

// ServeEndpoints serves the stamp's external endpoints with TLS on a
// loopback listener: the certificate is chosen by the name the client asks
// for (SNI), as the stamp's load balancer does. Close the listener to stop.
func (p *PEP) ServeEndpoints() (net.Listener, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
		if s := p.servedFor(hello.ServerName); s != nil {
			return s.tls, nil
		}
		return nil, fmt.Errorf("no endpoint serves %q", hello.ServerName)
	}}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		return nil, err
	}
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
				_ = conn.(*tls.Conn).Handshake()
			}()
		}
	}()
	return ln, nil
}

// AddShare makes a share readable by Start-SecretRotation.
func (p *PEP) AddShare(s Share) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cfg.Shares = append(p.cfg.Shares, s)
}

// resolveShare maps a UNC path to a local directory, checking the
// credential when the share has one.
func (p *PEP) resolveShare(unc string, cred credential) (string, *psrp.ErrorRecord) {
	p.mu.Lock()
	shares := append([]Share(nil), p.cfg.Shares...)
	p.mu.Unlock()
	for _, s := range shares {
		rest, ok := cutPrefixFold(unc, s.UNC)
		if !ok || (rest != "" && !strings.HasPrefix(rest, `\`)) {
			continue
		}
		if s.Password != "" {
			pw, _ := cred.password.Reveal()
			if !strings.EqualFold(cred.user, s.Username) || pw != s.Password {
				return "", &psrp.ErrorRecord{
					Message:               "Access is denied. The credential given with -PathAccessCredential cannot read " + s.UNC + ".",
					FullyQualifiedErrorId: "UnauthorizedAccess,Start-SecretRotation",
					Category:              psrp.PermissionDenied,
					Activity:              "Start-SecretRotation",
					Reason:                "UnauthorizedAccessException",
					ExceptionType:         "System.UnauthorizedAccessException",
				}
			}
		}
		return filepath.Join(s.Dir, filepath.FromSlash(strings.ReplaceAll(strings.TrimPrefix(rest, `\`), `\`, "/"))), nil
	}
	return "", &psrp.ErrorRecord{
		Message:               "The network path " + unc + " was not found.",
		FullyQualifiedErrorId: "PathNotFound,Start-SecretRotation",
		Category:              psrp.ObjectNotFound,
		Activity:              "Start-SecretRotation",
		Reason:                "IOException",
		ExceptionType:         "System.IO.IOException",
	}
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) < len(prefix) || !strings.EqualFold(s[:len(prefix)], prefix) {
		return "", false
	}
	return s[len(prefix):], true
}

// judgeShare reads the Certificates folder at dir and judges every PFX as
// the stamp's Test-Certificate does, with the Readiness Checker's rules
// and the stamp's root. It returns the new certificates by endpoint folder,
// or the error the cmdlet fails with, naming the folder, the file and the
// rule.
func (p *PEP) judgeShare(dir, password string) (map[string]*servedCert, *psrp.ErrorRecord) {
	if !strings.EqualFold(filepath.Base(dir), "Certificates") {
		// Documented: -PfxFilesPath must end in \Certificates; a wrong
		// structure fails in Test-Certificate.
		return nil, nullPath()
	}
	region, fqdn := p.stampName()
	pol := certcheck.Policy{Now: p.clk.Now(), ExtKeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
	if p.cfg.CA != nil {
		pol.Roots = []*x509.Certificate{p.cfg.CA.Cert}
	}
	tree, err := certcheck.CheckDir(os.DirFS(dir), p.identity(), region, fqdn, password, pol)
	if err != nil {
		return nil, nullPath()
	}
	var problems []string
	for _, f := range tree.Findings {
		problems = append(problems, f.String())
	}
	out := map[string]*servedCert{}
	for _, fr := range tree.Folders {
		for _, f := range fr.Findings {
			where := fr.File
			if where == "" {
				where = string(tree.Identity) + `\` + fr.Endpoint.Folder
			}
			problems = append(problems, where+": "+f.String())
		}
		if fr.Result == nil || fr.Result.Failed() {
			continue
		}
		key, _, _, err := pkcs12.DecodeChain(fr.Data, password)
		if err != nil {
			continue
		}
		leaf := fr.Result.Leaf
		signer, ok := key.(crypto.Signer)
		if !ok {
			continue
		}
		keyDER, err := x509.MarshalPKCS8PrivateKey(signer)
		if err != nil {
			continue
		}
		s := &servedCert{Host: fr.Host, DER: leaf.Raw, Key: keyDER}
		if s.parse() == nil {
			out[fr.Endpoint.Folder] = s
		}
	}
	if len(problems) > 0 {
		return nil, &psrp.ErrorRecord{
			Message:               "Certificate validation failed: " + strings.Join(problems, "; "),
			FullyQualifiedErrorId: "CertificateValidationFailed,Test-Certificate",
			Category:              psrp.InvalidData,
			Activity:              "Test-Certificate",
			Reason:                "InvalidDataException",
			ExceptionType:         "System.IO.InvalidDataException",
		}
	}
	return out, nil
}

func nullPath() *psrp.ErrorRecord {
	return &psrp.ErrorRecord{
		Message:               "Cannot bind argument to parameter 'Path' because it is null.",
		FullyQualifiedErrorId: "ParameterArgumentValidationErrorNullNotAllowed,Test-Certificate",
		Category:              psrp.InvalidData,
		Activity:              "Test-Certificate",
		Reason:                "ParameterBindingValidationException",
		ExceptionType:         "System.Management.Automation.ParameterBindingException",
	}
}

// externalCertificatesProblem is what AzsExternalCertificates reports: an
// endpoint certificate that expires within 30 days (the critical alert's
// threshold), or a failed external rotation that left the stamp between
// certificates.
func (p *PEP) externalCertificatesProblem() string {
	if last := p.lastAction("Start-SecretRotation", "External"); last != nil && last.Status == "Failed" {
		return "The last external secret rotation failed; run Start-SecretRotation -ReRun."
	}
	p.ext.mu.Lock()
	defer p.ext.mu.Unlock()
	now := p.clk.Now()
	var bad []string
	for folder, s := range p.ext.served {
		if s.cert.NotAfter.Sub(now) < 30*24*time.Hour {
			bad = append(bad, fmt.Sprintf("%s expires on %s", folder, s.cert.NotAfter.UTC().Format(time.RFC3339)))
		}
	}
	sort.Strings(bad)
	return strings.Join(bad, "; ")
}

// SetTestResult makes Test-AzureStack category name report result (PASS,
// WARN or FAIL) from now on, with message as its detail: a scenario where
// a readiness test warns or fails. PASS restores the default.
func (p *PEP) SetTestResult(name, result, message string) {
	p.ext.mu.Lock()
	defer p.ext.mu.Unlock()
	if p.ext.tests == nil {
		p.ext.tests = map[string][2]string{}
	}
	if strings.EqualFold(result, "PASS") {
		delete(p.ext.tests, strings.ToLower(name))
		return
	}
	p.ext.tests[strings.ToLower(name)] = [2]string{strings.ToUpper(result), message}
}

// testResult is the outcome of one category now.
func (p *PEP) testResult(name string) (result, message string) {
	if strings.EqualFold(name, "AzsExternalCertificates") {
		if msg := p.externalCertificatesProblem(); msg != "" {
			return "FAIL", msg
		}
	}
	p.ext.mu.Lock()
	defer p.ext.mu.Unlock()
	if r, ok := p.ext.tests[strings.ToLower(name)]; ok {
		return r[0], r[1]
	}
	return "PASS", ""
}

// stage reads and judges the share of an external rotation (when shares
// are configured) and keeps the new certificates, also across restarts,
// until the rotation completes: a failed rotation keeps them for -ReRun,
// which reads no share. It fails the command as the stamp's validation
// does.
func (p *PEP) stage(c *call, internal, rerun bool) error {
	p.ext.mu.Lock()
	p.ext.calls++
	p.ext.mu.Unlock()
	_ = p.saveExternal()
	p.mu.Lock()
	noShares := len(p.cfg.Shares) == 0
	p.mu.Unlock()
	if internal || noShares {
		return nil
	}
	if rerun {
		p.ext.mu.Lock()
		n := len(p.ext.staged)
		p.ext.mu.Unlock()
		if n == 0 {
			return fail(*nullPath())
		}
		return nil
	}
	path, _ := c.args["PfxFilesPath"].(string)
	cred, _ := c.args["PathAccessCredential"].(credential)
	pwSS, _ := c.args["CertificatePassword"].(psrp.SecureString)
	pw, _ := pwSS.Reveal()
	dir, rec := p.resolveShare(path, cred)
	if rec != nil {
		return fail(*rec)
	}
	staged, rec := p.judgeShare(dir, pw)
	if rec != nil {
		return fail(*rec)
	}
	p.ext.mu.Lock()
	p.ext.staged = staged
	p.ext.mu.Unlock()
	c.info(fmt.Sprintf("Validated %d certificates in %s.", len(staged), path))
	return p.saveExternal()
}

// installStaged makes the endpoints serve the staged certificates.
func (p *PEP) installStaged() {
	p.ext.mu.Lock()
	for folder, s := range p.ext.staged {
		p.ext.served[folder] = s
	}
	p.ext.staged = nil
	p.ext.mu.Unlock()
	_ = p.saveExternal()
}

// continueRotations carries on the rotations a previous run of the
// simulator left running: on a real stamp the action plan runs on the
// ERCS VMs whatever becomes of the session that started it, so a client
// that died can re-attach with Get-ActionStatus. It starts when the first
// session opens: a simulator's clock may skip ahead while nothing but the
// rotation waits, and the stamp should not finish the rotation before
// anyone is there to look.
func (p *PEP) continueRotations() {
	p.mu.Lock()
	var running []Action
	for _, a := range p.actions {
		if strings.EqualFold(a.Function, "Start-SecretRotation") && a.Status == "Running" {
			running = append(running, a)
		}
	}
	p.mu.Unlock()
	for _, a := range running {
		left := p.cfg.RotationTime - p.clk.Since(a.Start)
		p.goRun(func() {
			if left > 0 {
				if err := p.clk.Sleep(p.ctx, left); err != nil {
					return // the simulator stops; the action stays running
				}
			}
			if a.Kind == "External" {
				p.installStaged()
			}
			p.endAction(a.ID, "Completed", "")
		})
	}
}

// RotationCalls counts the Start-SecretRotation commands the stamp has
// accepted to run, across restarts.
func (p *PEP) RotationCalls() int {
	p.ext.mu.Lock()
	defer p.ext.mu.Unlock()
	return p.ext.calls
}
