package pep

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/runbook-dev/runbook/clock"
	"github.com/runbook-dev/runbook/pep/psrp"
	"github.com/runbook-dev/runbook/sim/wsman"
)

// PEP is a simulated Privileged Endpoint. It implements wsman.ShellHandler;
// all methods are safe for concurrent use. Create it with New.
type PEP struct {
	cfg Config
	clk clock.Clock

	ctx    context.Context // parent of every pipeline; ends at Close
	cancel context.CancelFunc

	// runMu guards closed; running counts the pipelines started and not
	// yet recorded, for Close to wait for.
	runMu   sync.Mutex
	closed  bool
	running sync.WaitGroup

	mu         sync.Mutex
	salt       []byte
	nodes      []*bmc
	sessions   map[string]*session // by upper-cased ShellId
	transcript []TranscriptEntry
	shipped    []TranscriptEntry
	actions    []Action
	rejectBMC  map[string]string // node → reason for the next password change
	failRotate int               // rotations still to fail
	ext        external          // external certificates and Test-AzureStack scenarios
	saveErr    error
	saveMu     sync.Mutex // serializes whole saves, so the newest state wins
}

// bmc is one node's fake baseboard management controller and what the
// stamp has stored for it. Passwords are kept as HMAC-SHA256 under the
// PEP's random salt.
type bmc struct {
	name       string
	user       string
	bmcHash    []byte // what the BMC accepts
	storedHash []byte // what Azure Stack believes the BMC accepts
	changed    time.Time
	changes    int
}

// Action is one action plan the PEP ran (Set-BmcCredential,
// Start-SecretRotation). Get-ActionStatus reports these; the schema is
// invented, as Microsoft does not document it.
type Action struct {
	ID       psrp.GUID
	Function string
	// Kind is "External" or "Internal" for rotations, "BMC" for BMC
	// credential updates.
	Kind   string
	Status string // "Running", "Completed" or "Failed"
	Start  time.Time
	End    time.Time
	Error  string
}

// New returns a PEP with cfg's defaults filled in, loading the stamp state
// from cfg.StatePath when that file exists.
func New(cfg Config) (*PEP, error) {
	cfg.defaults()
	p := &PEP{cfg: cfg, clk: cfg.Clock, sessions: map[string]*session{}, rejectBMC: map[string]string{}}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	loaded, err := p.load()
	if err != nil {
		return nil, err
	}
	if err := p.loadExternal(); err != nil {
		return nil, err
	}
	if !loaded {
		p.salt = make([]byte, 32)
		if _, err := io.ReadFull(cfg.Rand, p.salt); err != nil {
			return nil, fmt.Errorf("sim/pep: salt: %w", err)
		}
		for _, n := range cfg.Nodes {
			h := p.hash(n, cfg.BMCPassword)
			p.nodes = append(p.nodes, &bmc{name: n, user: cfg.BMCUser, bmcHash: h, storedHash: h})
		}
	}
	return p, nil
}

// ResourceURI is the WS-Management resource the PEP serves.
func (p *PEP) ResourceURI() string {
	return wsman.PowerShellResourceURIPrefix + p.cfg.ConfigurationName
}

// Register serves the PEP on s under ResourceURI. Several servers (ERCS
// VMs) may share one PEP.
func (p *PEP) Register(s *wsman.Server) { s.Handle(p.ResourceURI(), p) }

// Close stops every running pipeline and waits until each has recorded
// its transcript entry and action in the state file. A command cut short
// by the end of the simulator then shows in the transcript, as it would on
// a real PEP, which transcribes every command it ran; otherwise a client
// that exits while Set-BmcCredential runs could leave BMCs changed by a
// command the transcript does not name. No pipeline starts after Close.
func (p *PEP) Close() {
	p.runMu.Lock()
	p.closed = true
	p.runMu.Unlock()
	p.cancel()
	p.running.Wait()
}

// goRun runs fn, a pipeline, on its own goroutine for Close to wait for;
// it reports false, starting nothing, once the PEP is closed.
func (p *PEP) goRun(fn func()) bool {
	p.runMu.Lock()
	defer p.runMu.Unlock()
	if p.closed {
		return false
	}
	p.running.Add(1)
	go func() {
		defer p.running.Done()
		fn()
	}()
	return true
}

// hash is the keyed digest of a node's password.
func (p *PEP) hash(node, pw string) []byte {
	m := hmac.New(sha256.New, p.salt)
	m.Write([]byte(strings.ToUpper(node)))
	m.Write([]byte{0})
	m.Write([]byte(pw))
	return m.Sum(nil)
}

func (p *PEP) node(name string) *bmc {
	for _, n := range p.nodes {
		if strings.EqualFold(n.name, name) {
			return n
		}
	}
	return nil
}

// BMCPasswordMatches reports whether pw is the password node's BMC
// currently accepts.
func (p *PEP) BMCPasswordMatches(node, pw string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := p.node(node)
	return n != nil && hmac.Equal(n.bmcHash, p.hash(n.name, pw))
}

// StoredPasswordMatches reports whether pw is the BMC password Azure Stack
// has stored for node (what -BypassBMCUpdate changes alone).
func (p *PEP) StoredPasswordMatches(node, pw string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := p.node(node)
	return n != nil && hmac.Equal(n.storedHash, p.hash(n.name, pw))
}

// RejectNextBMCPassword makes node's BMC refuse the next password it is
// given, with reason as the BMC's complaint: a BMC that rejects the new
// credential mid-way through Set-BmcCredential.
func (p *PEP) RejectNextBMCPassword(node, reason string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rejectBMC[strings.ToUpper(node)] = reason
}

// FailNextRotations makes the next n runs of Start-SecretRotation fail.
func (p *PEP) FailNextRotations(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.failRotate = n
}

// NodeState is one node as State reports it.
type NodeState struct {
	Name    string
	BMCUser string
	// InSync reports whether Azure Stack's stored credential matches the
	// BMC's.
	InSync bool
	// Changes counts BMC password changes; Changed is the last one.
	Changes int
	Changed time.Time
}

// State is a snapshot of the stamp as the PEP sees it.
type State struct {
	Nodes    []NodeState
	Actions  []Action
	Sessions int
	// Transcripts counts entries still on the PEP; Shipped those copied off
	// by Close-PrivilegedEndpoint.
	Transcripts, Shipped int
}

// State returns a snapshot for tests.
func (p *PEP) State() State {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := State{Actions: append([]Action(nil), p.actions...), Sessions: len(p.sessions), Transcripts: len(p.transcript), Shipped: len(p.shipped)}
	for _, n := range p.nodes {
		s.Nodes = append(s.Nodes, NodeState{Name: n.name, BMCUser: n.user, InSync: hmac.Equal(n.bmcHash, n.storedHash), Changes: n.changes, Changed: n.changed})
	}
	return s
}

// Endpoint is a simulated ERCS VM: a WS-Management server with a PEP
// registered on it.
type Endpoint struct {
	*PEP
	WSMan *wsman.Server
}

// Start starts a WS-Management server configured by wcfg and registers a
// new PEP configured by cfg on it. The server's clock defaults to the
// PEP's.
func Start(cfg Config, wcfg wsman.Config) (*Endpoint, error) {
	p, err := New(cfg)
	if err != nil {
		return nil, err
	}
	if wcfg.Clock == nil {
		wcfg.Clock = p.clk
	}
	s, err := wsman.NewServer(wcfg)
	if err != nil {
		return nil, err
	}
	p.Register(s)
	return &Endpoint{PEP: p, WSMan: s}, nil
}

// Close stops the server and the PEP.
func (e *Endpoint) Close() error {
	e.PEP.Close()
	return e.WSMan.Close()
}
