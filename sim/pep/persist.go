package pep

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/runbook-dev/runbook/internal/atomicfile"
)

// stateFile is the JSON form of the stamp state. Password material is the
// salt and HMACs only.
type stateFile struct {
	Salt        string            `json:"salt"`
	Nodes       []nodeFile        `json:"nodes"`
	Actions     []Action          `json:"actions,omitempty"`
	Transcripts []TranscriptEntry `json:"transcripts,omitempty"`
	Shipped     []TranscriptEntry `json:"shipped,omitempty"`
}

type nodeFile struct {
	Name       string    `json:"name"`
	User       string    `json:"bmcUser"`
	BMCHash    string    `json:"bmcPasswordHmac"`
	StoredHash string    `json:"storedPasswordHmac"`
	Changed    time.Time `json:"changed,omitzero"`
	Changes    int       `json:"changes,omitempty"`
}

// load reads cfg.StatePath; it reports false when there is nothing to load.
func (p *PEP) load() (bool, error) {
	if p.cfg.StatePath == "" {
		return false, nil
	}
	b, err := os.ReadFile(p.cfg.StatePath)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("sim/pep: load state: %w", err)
	}
	var f stateFile
	if err := json.Unmarshal(b, &f); err != nil {
		return false, fmt.Errorf("sim/pep: load state %s: %w", p.cfg.StatePath, err)
	}
	if p.salt, err = hex.DecodeString(f.Salt); err != nil || len(p.salt) == 0 {
		return false, fmt.Errorf("sim/pep: load state %s: bad salt", p.cfg.StatePath)
	}
	for _, n := range f.Nodes {
		bh, err1 := hex.DecodeString(n.BMCHash)
		sh, err2 := hex.DecodeString(n.StoredHash)
		if err1 != nil || err2 != nil {
			return false, fmt.Errorf("sim/pep: load state %s: bad hash for %s", p.cfg.StatePath, n.Name)
		}
		p.nodes = append(p.nodes, &bmc{name: n.Name, user: n.User, bmcHash: bh, storedHash: sh, changed: n.Changed, changes: n.Changes})
	}
	p.actions, p.transcript, p.shipped = f.Actions, f.Transcripts, f.Shipped
	return true, nil
}

// save writes the state when a path is configured. Errors are kept for
// SaveError: a simulator must not fail a command because a disk is full.
func (p *PEP) save() {
	if p.cfg.StatePath == "" {
		return
	}
	p.saveMu.Lock()
	defer p.saveMu.Unlock()
	p.mu.Lock()
	f := stateFile{Salt: hex.EncodeToString(p.salt), Actions: p.actions, Transcripts: p.transcript, Shipped: p.shipped}
	for _, n := range p.nodes {
		f.Nodes = append(f.Nodes, nodeFile{Name: n.name, User: n.user, BMCHash: hex.EncodeToString(n.bmcHash), StoredHash: hex.EncodeToString(n.storedHash), Changed: n.changed, Changes: n.changes})
	}
	b, err := json.MarshalIndent(f, "", "  ")
	p.mu.Unlock()
	if err == nil {
		err = writeFileAtomic(p.cfg.StatePath, append(b, '\n'))
	}
	p.mu.Lock()
	p.saveErr = err
	p.mu.Unlock()
}

// SaveError returns the error of the last save, if it failed.
func (p *PEP) SaveError() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.saveErr
}

func writeFileAtomic(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return atomicfile.WriteUnsynced(path, b, 0o600)
}
