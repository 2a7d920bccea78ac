package hub

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/runbook-dev/runbook/internal/atomicfile"
)

// stateFormat versions the state file; a file of another format is refused
// rather than misread.
const stateFormat = 1

// stateFile is the JSON document kept at Options.StatePath.
type stateFile struct {
	Format int `json:"format"`
	// SavedAt is the stamp clock's time of the last save, so that a new
	// process can continue the stamp's time where the last one stopped.
	SavedAt time.Time `json:"savedAt"`
	State   *State    `json:"state"`
}

// loadState reads the state file at path; ok is false if it does not exist.
func loadState(path string) (st *State, ok bool, err error) {
	f, err := readStateFile(path)
	if err != nil || f == nil {
		return nil, false, err
	}
	if f.State.Operations == nil {
		f.State.Operations = []OperationState{}
	}
	return f.State, true, nil
}

func readStateFile(path string) (*stateFile, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("sim/hub: read state: %w", err)
	}
	var f stateFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("sim/hub: state file %s is not valid JSON: %w", path, err)
	}
	if f.Format != stateFormat || f.State == nil {
		return nil, fmt.Errorf("sim/hub: state file %s has format %d, want %d", path, f.Format, stateFormat)
	}
	return &f, nil
}

// StateSavedAt returns the stamp clock's time at the last save of the state
// file at path, and false if there is no such file. A CLI that keeps a stamp
// between runs starts its clock there so stamp time never runs backwards.
func StateSavedAt(path string) (time.Time, bool, error) {
	f, err := readStateFile(path)
	if err != nil || f == nil {
		return time.Time{}, false, err
	}
	return f.SavedAt, true, nil
}

// saveLocked writes the state to Options.StatePath, if set, atomically:
// a temporary file in the same directory, synced, then renamed over the
// old one. Readers (another process) see the old or the new state, never a
// torn one.
func (s *Server) saveLocked() error {
	path := s.opts.StatePath
	if path == "" {
		return nil
	}
	data, err := json.MarshalIndent(stateFile{Format: stateFormat, SavedAt: s.st.Now, State: s.st}, "", "  ")
	if err != nil {
		return fmt.Errorf("sim/hub: encode state: %w", err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("sim/hub: state directory: %w", err)
	}
	if err := atomicfile.Write(path, append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("sim/hub: save state: %w", err)
	}
	return nil
}
