package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/runbook-dev/runbook/clock"
	"github.com/runbook-dev/runbook/hub"
	"github.com/runbook-dev/runbook/pep"
	"github.com/runbook-dev/runbook/sim/certs"
	simhub "github.com/runbook-dev/runbook/sim/hub"
	simpep "github.com/runbook-dev/runbook/sim/pep"
	simwsman "github.com/runbook-dev/runbook/sim/wsman"
	"github.com/runbook-dev/runbook/steps"
)

// DefaultSimPause is how long the simulated stamp's warp clock waits, with
// every running step asleep, before it jumps to the next deadline: with the
// stamp's one-minute polls, a four-hour rotation takes about seven seconds,
// while real work (requests, signatures) takes its real time, so timeouts
// stay honest. RUNBOOK_SIM_PAUSE changes it (tests use 1ms);
// RUNBOOK_SIM_SCENARIO picks another simulated stamp when its state is
// first created (simhub.ScenarioNames lists them).
const DefaultSimPause = 25 * time.Millisecond

// simStamp is the documented simulated stamp, started in-process for
// -simulate: the Hub's admin ARM and identity provider, and the PEP on a
// WS-Management server with three BMCs. Its state lives under
// .runbook/sim/ beside the runbook, so plan, apply and plan again behave as
// on a real stamp.
type simStamp struct {
	dir   string
	clock *clock.Warp
	ca    *certs.CA
	hub   *simhub.Server
	wsman *simwsman.Server
	pep   *simpep.PEP
	// endpoints serves the stamp's external endpoints over TLS.
	endpoints net.Listener
	client    simhub.Client
	pepPW     string
}

const (
	simClientID = "runbook-operator"
	simPEPUser  = `AZURESTACK\CloudAdmin`
)

// simCreds are the simulated stamp's own credentials, made once and kept
// under .runbook/sim/ (0600); they stand in for the runbook's.
type simCreds struct {
	ClientSecret string `json:"client_secret"`
	PEPPassword  string `json:"pep_password"`
	// HubAddr is the Hub's listen address, kept so that operation URLs a
	// journal recorded stay valid across runs, as on a real stamp.
	HubAddr string    `json:"hub_addr,omitempty"`
	Now     time.Time `json:"virtual_now"`
}

func startSimStamp(e *env, st stateDir, base clock.Clock) (*simStamp, error) {
	dir := st.sim()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	creds, err := loadSimCreds(dir)
	if err != nil {
		return nil, err
	}
	pause, start := simPause(e), simStart(dir, base, creds)
	hubFaults, pepFaults, pepHooks, err := parseSimFaults(e.getenv("RUNBOOK_SIM_FAULTS"))
	if err != nil {
		return nil, err
	}
	s := &simStamp{dir: dir, clock: clock.NewWarp(base, start, pause), pepPW: creds.PEPPassword}
	// The Hub's TLS and token-signing keys are kept too, so that a command
	// does not spend a second generating RSA keys.
	certs.PersistKeys(filepath.Join(dir, "keys"))
	s.ca, err = certs.LoadOrCreateCA(dir, s.clock)
	if err != nil {
		return nil, fmt.Errorf("stamp CA: %w", err)
	}
	s.client = simhub.Client{ID: simClientID, Secret: creds.ClientSecret}
	if err := s.startHub(e, &creds, hubFaults); err != nil {
		return nil, err
	}
	if err := s.startPEP(creds); err != nil {
		s.close()
		return nil, err
	}
	for _, in := range pepFaults {
		s.wsman.Inject(in)
	}
	for _, hook := range pepHooks {
		hook(s)
	}
	return s, nil
}

// simPause is the warp clock's pause: RUNBOOK_SIM_PAUSE if it is a
// positive duration, else DefaultSimPause.
func simPause(e *env) time.Duration {
	pause := DefaultSimPause
	if v := e.getenv("RUNBOOK_SIM_PAUSE"); v != "" {
		if d, err := time.ParseDuration(v); err == nil && d > 0 {
			pause = d
		}
	}
	return pause
}

// simStart is the virtual time a run starts at. Virtual time never goes
// back: a run starts where the last one ended, or at the wall clock if
// that is later.
func simStart(dir string, base clock.Clock, creds simCreds) time.Time {
	start := base.Now()
	for _, t := range append([]time.Time{creds.Now}, savedNow(dir, "hub.json", "pep.json")...) {
		if t.After(start) {
			start = t
		}
	}
	return start
}

// startHub starts the simulated Hub on the address it had before, or on
// another if that is taken, and records a new address in creds.
func (s *simStamp) startHub(e *env, creds *simCreds, hubFaults []simhub.Fault) error {
	var scenario *simhub.Scenario
	if name := e.getenv("RUNBOOK_SIM_SCENARIO"); name != "" {
		sc, err := simhub.ScenarioByName(name)
		if err != nil {
			return err
		}
		scenario = &sc
	}
	hubOpts := simhub.Options{
		Scenario:      scenario,
		Clock:         s.clock,
		CA:            s.ca,
		Clients:       []simhub.Client{s.client},
		TokenLifetime: 10000 * time.Hour, // virtual hours: azcore refreshes by the wall clock
		StatePath:     filepath.Join(s.dir, "hub.json"),
		Addr:          creds.HubAddr,
		Faults:        hubFaults,
	}
	var err error
	s.hub, err = simhub.Open(hubOpts)
	if err != nil {
		return fmt.Errorf("simulated Hub: %w", err)
	}
	err = s.hub.Start()
	if err != nil && creds.HubAddr != "" {
		// The old port is taken: take another (journalled operation URLs
		// of an unfinished run then no longer reach the Hub).
		hubOpts.Addr = ""
		if s.hub, err = simhub.Open(hubOpts); err == nil {
			err = s.hub.Start()
		}
	}
	if err != nil {
		return fmt.Errorf("simulated Hub: %w", err)
	}
	if u, err := url.Parse(s.hub.URL()); err == nil && creds.HubAddr == "" {
		creds.HubAddr = u.Host
		if err := saveSimCreds(s.dir, *creds); err != nil {
			return err
		}
	}
	return nil
}

// startPEP starts the simulated PEP, its external endpoints and the
// WS-Management server it is registered on; the caller closes the stamp
// if it fails.
func (s *simStamp) startPEP(creds simCreds) error {
	var err error
	s.pep, err = simpep.New(simpep.Config{
		Clock: s.clock, StatePath: filepath.Join(s.dir, "pep.json"), CA: s.ca,
		// The documented simulated stamp: AD FS, local.azurestack.external.
		Stamp: simpep.StampInfo{IdentitySystem: "ADFS", RegionName: simRegion, ExternalDomainFQDN: simRegion + "." + simFQDN},
		// A completed Start-SecretRotation renews the stamp's secrets for
		// two years (the external certificates' usual validity) and closes
		// their expiry alerts.
		OnSecretRotation: func(internal bool) { s.hub.RotateInfrastructure(internal, s.clock.Now().AddDate(2, 0, 0)) },
	})
	if err != nil {
		return fmt.Errorf("simulated PEP: %w", err)
	}
	if s.endpoints, err = s.pep.ServeEndpoints(); err != nil {
		return fmt.Errorf("simulated endpoints: %w", err)
	}
	s.wsman, err = simwsman.NewServer(simwsman.Config{
		Clock: s.clock, Auth: simwsman.AuthNegotiate, Sealing: simwsman.SealRequired,
		Username: simPEPUser, Password: creds.PEPPassword, NoCmdShell: true,
	})
	if err != nil {
		return fmt.Errorf("simulated PEP: %w", err)
	}
	s.pep.Register(s.wsman)
	return nil
}

// savedNow returns the virtual times the simulators recorded in their state
// files (a top-level "now"): a run that was killed never saved its clock,
// but its simulators saved their state, and time must not go back behind
// it.
func savedNow(dir string, files ...string) []time.Time {
	var out []time.Time
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			continue
		}
		var head struct {
			Now time.Time `json:"now"`
		}
		if json.Unmarshal(b, &head) == nil && !head.Now.IsZero() {
			out = append(out, head.Now)
		}
	}
	return out
}

func loadSimCreds(dir string) (simCreds, error) {
	var c simCreds
	p := filepath.Join(dir, "stamp.json")
	b, err := os.ReadFile(p)
	switch {
	case err == nil:
		if err := json.Unmarshal(b, &c); err != nil {
			return c, fmt.Errorf("%s: %w", p, err)
		}
		return c, nil
	case !errors.Is(err, fs.ErrNotExist):
		return c, err
	}
	c.ClientSecret, c.PEPPassword = randomSecret(), randomSecret()[:14]
	return c, saveSimCreds(dir, c)
}

func saveSimCreds(dir string, c simCreds) error {
	b, _ := json.MarshalIndent(c, "", "  ")
	return writePrivate(filepath.Join(dir, "stamp.json"), b)
}

func randomSecret() string {
	b := make([]byte, 16)
	rand.Read(b)
	return "Sim" + hex.EncodeToString(b)
}

// redirect points every hub and pep block at the simulators, with the
// simulated stamp's CA and credentials.
func (s *simStamp) redirect(o *steps.ConnOptions) {
	o.HubOverride = func(name string, cfg *hub.Config) {
		cfg.Endpoint = s.hub.URL()
		cfg.CAFile = ""
		cfg.CAPEM = s.ca.CertPEM()
		cfg.Insecure = false
		cfg.SubscriptionID = ""
		cfg.Auth = hub.Auth{
			Method:       hub.AuthClientSecret,
			Tenant:       s.hub.Tenant(),
			ClientID:     s.client.ID,
			ClientSecret: hub.Secret(s.client.Secret),
		}
	}
}

// pepTarget points every pep block at the simulated PEP: sealed NTLM over
// HTTP, as a real PEP, with the simulated stamp's CloudAdmin credentials.
func (s *simStamp) pepTarget() steps.PEPTarget {
	host, port := s.pepHostPort()
	return steps.PEPTarget{
		Addresses: []string{host}, Port: port, Auth: pep.AuthNTLM,
		Username: simPEPUser, Password: s.pepPW,
	}
}

// close stops the simulators and keeps the virtual time for the next run.
func (s *simStamp) close() {
	if s.endpoints != nil {
		s.endpoints.Close()
	}
	if s.wsman != nil {
		s.wsman.Close()
	}
	if s.pep != nil {
		s.pep.Close()
	}
	if s.hub != nil {
		s.hub.Close()
	}
	if c, err := loadSimCreds(s.dir); err == nil {
		c.Now = s.clock.Now()
		saveSimCreds(s.dir, c)
	}
	s.clock.Stop()
}

// hostPort splits the PEP server's address.
func (s *simStamp) pepHostPort() (string, int) {
	return s.wsman.Host(), s.wsman.Port()
}
