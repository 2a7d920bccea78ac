package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/runbook-dev/runbook/certcheck"
	"github.com/runbook-dev/runbook/clock"
	"github.com/runbook-dev/runbook/executor"
	"github.com/runbook-dev/runbook/lang"
	"github.com/runbook-dev/runbook/sim/certs"
	simpep "github.com/runbook-dev/runbook/sim/pep"
	"github.com/runbook-dev/runbook/steps"
	"github.com/zclconf/go-cty/cty"
)

func runSim(e *env, args []string) int {
	if len(args) > 0 && args[0] == "certs" {
		return runSimCerts(e, args[1:])
	}
	fs := newFlagSet(e, "sim", "[DIR]",
		"Serve the simulated stamp (admin ARM with its identity provider, and the PEP) on\n"+
			"loopback until interrupted, with its state under DIR/.runbook/sim (the state -simulate\n"+
			"uses for a runbook in DIR). Prints the addresses and credentials a runbook needs.\n"+
			"  runbook sim certs -dir DIR -password-env NAME   writes the stamp's CA and PFX files\n"+
			"  runbook sim certs -external -dir DIR -password-env NAME   writes a Certificates folder for Start-SecretRotation")
	if code, ok := parseFlags(fs, e, args); !ok {
		return code
	}
	st := stateFor(fs.Arg(0))
	base := clockFor()
	sim, err := startSimStamp(e, st, base)
	if err != nil {
		fmt.Fprintf(e.stderr, "runbook sim: %v\n", err)
		return exitError
	}
	defer sim.close()
	caPath := filepath.Join(sim.dir, "root-ca.pem")
	envFile, err := sim.writeEnv(caPath)
	if err != nil {
		fmt.Fprintf(e.stderr, "runbook sim: %v\n", err)
		return exitError
	}
	sim.printBanner(e, caPath, envFile)
	<-e.ctx.Done()
	fmt.Fprintln(e.stdout, "Stopped.")
	return exitOK
}

// writeEnv writes the settings a runbook needs, secrets included, as
// KEY=value lines to sim.env (0600) and returns its path.
func (s *simStamp) writeEnv(caPath string) (string, error) {
	host, port := s.pepHostPort()
	abs := func(p string) string {
		if a, err := filepath.Abs(p); err == nil {
			return a
		}
		return p
	}
	envFile := filepath.Join(s.dir, "sim.env")
	envText := fmt.Sprintf("RUNBOOK_SIM_HUB_ENDPOINT=%s\nRUNBOOK_SIM_CA_FILE=%s\nRUNBOOK_SIM_CLIENT_ID=%s\nRUNBOOK_SIM_CLIENT_SECRET=%s\nRUNBOOK_SIM_PEP_ADDRESS=%s\nRUNBOOK_SIM_PEP_PORT=%d\nRUNBOOK_SIM_PEP_USER=%s\nRUNBOOK_SIM_PEP_PASSWORD=%s\n",
		s.hub.URL(), abs(caPath), simClientID, s.client.Secret, host, port, simPEPUser, s.pepPW)
	return envFile, writePrivate(envFile, []byte(envText))
}

// printBanner tells the user where the simulated stamp listens and how a
// runbook reaches it, without its secrets.
func (s *simStamp) printBanner(e *env, caPath, envFile string) {
	host, port := s.pepHostPort()
	fmt.Fprintf(e.stdout, `The simulated stamp is running (its clock skips ahead while everything waits).

Hub (admin Resource Manager): %s
  identity provider:         AD FS, tenant "adfs", client id %q
  CA certificate:            %s
PEP (WS-Management, sealed NTLM): %s:%d, user %s
  BMC nodes:                 3

Credentials and state are in %s (files 0600). A runbook's hub and pep blocks:

  hub "sim" {
    endpoint = %q
    ca_file  = %q
    auth {
      method        = "client_secret"
      tenant        = "adfs"
      client_id     = %q
      client_secret = env("RUNBOOK_SIM_CLIENT_SECRET")
    }
  }
  pep "sim" {
    addresses = [%q]
    port      = %d
    username  = %q
    password  = env("RUNBOOK_SIM_PEP_PASSWORD")
  }

The same settings, secrets included, are in %s (0600) as KEY=value lines.
Press Ctrl-C to stop.
`, s.hub.URL(), simClientID, caPath, host, port, simPEPUser,
		s.dir, s.hub.URL(), caPath, simClientID, host, port, simPEPUser, envFile)
}

func runSimCerts(e *env, args []string) int {
	fs := newFlagSet(e, "sim certs", "",
		"Write the simulated stamp's root CA (certificate and key, PEM) and a valid PFX for each\n"+
			"product (eventhub.pfx, sqlrp.pfx), so that good and bad certificates can be made for\n"+
			"-simulate, which judges them as a real stamp would. Run it in the runbook's directory:\n"+
			"the CA is the one under .runbook/sim, created once and reused.")
	dir := fs.String("dir", "certs", "Write the files into `dir`")
	pwEnv := fs.String("password-env", "", "Protect the PFX files with the password in environment variable `NAME`")
	runbookDir := fs.String("runbook", ".", "The runbook `directory` whose simulated stamp to use")
	flawName := fs.String("flaw", "", "Build in a flaw: "+strings.Join(flawNames(), ", ")+"; with -external also "+certs.LayoutMissingFolder+", "+certs.LayoutExtraPFX)
	external := fs.Bool("external", false, "Write the stamp's external certificates instead: DIR is the Certificates folder of the share\nStart-SecretRotation reads, with one PFX per endpoint folder")
	identity := fs.String("identity", "adfs", "With -external, the identity provider's folder `tree`: adfs or aad")
	flawFolder := fs.String("flaw-folder", certs.DefaultFlawFolder, "With -external, the endpoint `folder` the flaw goes into")
	only := fs.Bool("only", false, "With -external, write the -flaw-folder alone and leave the other folders as they are")
	if code, ok := parseFlags(fs, e, args); !ok {
		return code
	}
	layout := ""
	if *external && (*flawName == certs.LayoutMissingFolder || *flawName == certs.LayoutExtraPFX) {
		layout, *flawName = *flawName, ""
	}
	pw, flaw, code, ok := simCertsInputs(e, *pwEnv, *flawName)
	if !ok {
		return code
	}
	clk := clockFor()
	ca, err := openSimCA(*runbookDir, *dir, clk)
	if err != nil {
		fmt.Fprintf(e.stderr, "runbook sim certs: %v\n", err)
		return exitError
	}
	if *external {
		id, err := certcheck.ParseIdentity(*identity)
		if err != nil {
			fmt.Fprintf(e.stderr, "runbook sim certs: -identity: %v\n", err)
			return exitUsage
		}
		files, err := ca.WriteExternal(certs.ExternalOptions{Dir: *dir, Identity: id, Region: simRegion, FQDN: simFQDN,
			Password: pw, Now: clk.Now(), Flaw: flaw, Layout: layout, FlawFolder: *flawFolder, Only: *only})
		if err != nil {
			fmt.Fprintf(e.stderr, "runbook sim certs: %v\n", err)
			return exitError
		}
		for _, f := range files {
			fmt.Fprintln(e.stdout, filepath.ToSlash(filepath.Join(*dir, f)))
		}
		return exitOK
	}
	if err := writeProductCerts(e, ca, *dir, pw, clk, flaw); err != nil {
		fmt.Fprintf(e.stderr, "runbook sim certs: %v\n", err)
		return exitError
	}
	return exitOK
}

// simCertsInputs reads the PFX password from the environment variable
// pwEnv and parses the flaw; on a bad input it prints why and returns the
// exit code, false.
func simCertsInputs(e *env, pwEnv, flawName string) (pw string, flaw certs.Flaw, code int, ok bool) {
	if pwEnv == "" {
		fmt.Fprintln(e.stderr, "runbook sim certs: give -password-env NAME: the PFX password is read from the environment, never from the command line")
		return "", 0, exitUsage, false
	}
	pw, found := lookupEnv(e.environ, pwEnv)
	if !found || pw == "" {
		fmt.Fprintf(e.stderr, "runbook sim certs: the environment variable %s is not set\n", pwEnv)
		return "", 0, exitError, false
	}
	flaw = certs.FlawNone
	if flawName != "" {
		f, err := certs.ParseFlaw(flawName)
		if err != nil {
			fmt.Fprintf(e.stderr, "runbook sim certs: %v\n", err)
			return "", 0, exitUsage, false
		}
		flaw = f
	}
	return pw, flaw, exitOK, true
}

// openSimCA loads (or creates, once) the CA of the simulated stamp of the
// runbook in runbookDir, and makes the output directory dir.
func openSimCA(runbookDir, dir string, clk clock.Clock) (*certs.CA, error) {
	st := stateFor(runbookDir)
	if err := os.MkdirAll(st.sim(), 0o700); err != nil {
		return nil, err
	}
	ca, err := certs.LoadOrCreateCA(st.sim(), clk)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	return ca, nil
}

// writeProductCerts writes the CA's certificate and key and a PFX for each
// product into dir (0600), listing each file it wrote.
func writeProductCerts(e *env, ca *certs.CA, dir, pw string, clk clock.Clock, flaw certs.Flaw) error {
	keyPEM, err := ca.KeyPEM()
	if err != nil {
		return err
	}
	files := map[string][]byte{"root-ca.pem": ca.CertPEM(), "root-ca-key.pem": keyPEM}
	for name, label := range map[string]string{"eventhub.pfx": "eventhub", "sqlrp.pfx": "dbadapter"} {
		b, err := ca.IssuePFX(certs.PFXOptions{Hosts: []string{"*." + label + "." + simRegion + "." + simFQDN}, Now: clk.Now(), Password: pw, Flaw: flaw})
		if err != nil {
			return err
		}
		files[name] = b
	}
	for _, name := range []string{"root-ca.pem", "root-ca-key.pem", "eventhub.pfx", "sqlrp.pfx"} {
		if err := writePrivate(filepath.Join(dir, name), files[name]); err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, filepath.ToSlash(filepath.Join(dir, name)))
	}
	return nil
}

func flawNames() []string {
	var out []string
	for _, f := range certs.Flaws() {
		out = append(out, f.String())
	}
	return out
}

// The documented simulated stamp.
const (
	simRegion = "local"
	simFQDN   = "azurestack.external"
)

var versionSuffix = regexp.MustCompile(`\.\d+\.\d+\.\d+\.\d+$`)

// ensurePFX writes, for every product_secret step whose PFX file does not
// exist, a valid PFX from the simulated stamp's CA with the step's
// password: the demo then needs no setup. Existing files are left alone,
// so bad certificates made with `runbook sim certs -flaw` are judged as
// they are.
func (s *simStamp) ensurePFX(e *env, rb *lang.Runbook) error {
	t, ok := registry().Get("product_secret")
	if !ok {
		return nil
	}
	ctx := rb.EvalContext(nil, cty.NilVal)
	for _, name := range rb.StepNames() {
		st := rb.Steps[name]
		if st.Type != "product_secret" {
			continue
		}
		cfg, diags := executor.DecodeStep(st, t, ctx)
		if diags.HasErrors() {
			continue // plan reports it
		}
		file, pw := attrString(cfg, "pfx_file"), attrString(cfg, "pfx_password")
		product := attrString(cfg, "product_id")
		if product == "" {
			product = versionSuffix.ReplaceAllString(attrString(cfg, "package_id"), "")
		}
		if file == "" || pw == "" || product == "" {
			continue
		}
		// The path as the step reads it: absolute as given, relative to
		// the runbook.
		path := filepath.FromSlash(file)
		if !filepath.IsAbs(path) {
			path = filepath.Join(rb.Dir, path)
		}
		if _, err := os.Stat(path); err == nil {
			continue
		}
		rel := filepath.FromSlash(file)
		if filepath.IsAbs(rel) || !filepath.IsLocal(rel) {
			fmt.Fprintf(e.stderr, "Not making %s: the simulated stamp makes certificates only inside the runbook directory.\n", file)
			continue
		}
		b, err := s.hub.ProductPFX(product, certs.FlawNone, pw)
		if err != nil {
			// A product the simulated stamp does not have: plan says so,
			// with the step's location.
			continue
		}
		if err := writeInside(rb.Dir, rel, b); err != nil {
			return fmt.Errorf("make %s: %w", filepath.ToSlash(path), err)
		}
		fmt.Fprintf(e.stderr, "Made %s: a certificate for %s from the simulated stamp's CA.\n", filepath.ToSlash(path), product)
	}
	return nil
}

// writeInside writes a new private file at rel under dir, atomically,
// through an os.Root: no "..", absolute path or symbolic link on the way
// can lead the write outside dir.
func writeInside(dir, rel string, data []byte) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	if err := root.MkdirAll(filepath.Dir(rel), 0o700); err != nil {
		return err
	}
	var suffix [8]byte
	rand.Read(suffix[:])
	tmp := filepath.Join(filepath.Dir(rel), "."+filepath.Base(rel)+"."+hex.EncodeToString(suffix[:]))
	f, err := root.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer root.Remove(tmp)
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return root.Rename(tmp, rel)
}

func attrString(v cty.Value, name string) string {
	if !v.Type().IsObjectType() || !v.Type().HasAttribute(name) {
		return ""
	}
	a, _ := v.GetAttr(name).Unmark()
	if a.IsNull() || !a.IsKnown() || a.Type() != cty.String {
		return ""
	}
	return a.AsString()
}

// prepareShares makes the certificate share of every external
// secret_rotation step readable by the simulated PEP: the UNC path is the
// step's certificate_dir, and the share accepts the step's credential (so
// a credential garbled on the way to the PEP is refused). A
// certificate_dir that does not exist is filled with valid certificates
// from the simulated stamp's CA, and a missing ca_file with that CA, so
// that the example needs no setup; existing files are left alone, so that
// flaws made with `runbook sim certs -external -flaw` are judged as they
// are.
func (s *simStamp) prepareShares(e *env, rb *lang.Runbook) error {
	t, ok := registry().Get("secret_rotation")
	if !ok {
		return nil
	}
	ctx := rb.EvalContext(nil, cty.NilVal)
	for _, name := range rb.StepNames() {
		st := rb.Steps[name]
		if st.Type != "secret_rotation" {
			continue
		}
		cfg, diags := executor.DecodeStep(st, t, ctx)
		if diags.HasErrors() || attrString(cfg, "kind") != "external" {
			continue
		}
		abs := func(p string) string {
			if filepath.IsAbs(p) {
				return p
			}
			return filepath.Join(rb.Dir, filepath.FromSlash(p))
		}
		dir, pw := abs(attrString(cfg, "certificate_dir")), attrString(cfg, "pfx_password")
		s.pep.AddShare(simpep.Share{UNC: attrString(cfg, "certificate_share"), Dir: dir,
			Username: attrString(cfg, "share_username"), Password: attrString(cfg, "share_password")})
		if ca := attrString(cfg, "ca_file"); ca != "" {
			if _, err := os.Stat(abs(ca)); err != nil {
				if err := os.MkdirAll(filepath.Dir(abs(ca)), 0o700); err != nil {
					return err
				}
				if err := writePrivate(abs(ca), s.ca.CertPEM()); err != nil {
					return err
				}
			}
		}
		if _, err := os.Stat(dir); err == nil || pw == "" {
			continue
		}
		id, err := certcheck.ParseIdentity(attrString(cfg, "identity"))
		if err != nil {
			continue // plan reports it
		}
		if _, err := s.ca.WriteExternal(certs.ExternalOptions{Dir: dir, Identity: id, Region: simRegion, FQDN: simFQDN,
			Password: pw, Now: s.clock.Now()}); err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "Made %s: the external certificates from the simulated stamp's CA.\n", filepath.ToSlash(dir))
	}
	return nil
}

// served reads the endpoints' certificates from the simulated stamp: every
// host name is dialled at its TLS listener, which picks the certificate by
// the name asked for.
func (s *simStamp) served() steps.ServedCertificates {
	addr := s.endpoints.Addr().String()
	return steps.TLSServed{Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}
}
