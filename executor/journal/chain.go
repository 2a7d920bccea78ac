package journal

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/runbook-dev/runbook/internal/boundedread"
)

// genesisPrefix starts the text whose hash is the first record's Prev.
const genesisPrefix = "runbook-journal-v1\n"

// Genesis returns the Prev of the first record of run runID: the hex SHA-256
// of "runbook-journal-v1\n" followed by the run id.
func Genesis(runID string) string {
	return hashLine([]byte(genesisPrefix + runID))
}

func hashLine(line []byte) string {
	sum := sha256.Sum256(line)
	return hex.EncodeToString(sum[:])
}

// ChainError reports a journal whose records do not form an intact chain:
// a line was edited, deleted, inserted or reordered, or is not a record.
type ChainError struct {
	Path string // the file, when known
	Line int    // 1-based number of the first line that does not verify
	// Reason says what is wrong, in a sentence fragment.
	Reason string
}

func (e *ChainError) Error() string {
	where := fmt.Sprintf("line %d", e.Line)
	if e.Path != "" {
		where = e.Path + ":" + fmt.Sprint(e.Line)
	}
	return fmt.Sprintf("journal %s: broken chain: %s", where, e.Reason)
}

// TornTailError reports a journal whose last line is incomplete: the
// process stopped in the middle of a write. Every record before it is
// intact, and the incomplete one was never acknowledged to its caller, so it
// can be discarded; Open does so.
type TornTailError struct {
	Path string
	Line int // 1-based number of the incomplete line
	// Offset is the length of the intact part of the file, where the
	// incomplete line starts; Bytes is the incomplete line's length.
	Offset int64
	Bytes  int
}

func (e *TornTailError) Error() string {
	where := fmt.Sprintf("line %d", e.Line)
	if e.Path != "" {
		where = e.Path + ":" + fmt.Sprint(e.Line)
	}
	return fmt.Sprintf("journal %s: torn last line (%d bytes of an interrupted write); the records before it are intact", where, e.Bytes)
}

// Read reads the journal at path and verifies its chain. It returns the
// records it verified and either nil, a *TornTailError (every record was
// read; the last line was incomplete and is ignored), a *ChainError (the
// records before the broken line are returned; when the break is a Prev
// that does not match, the last of them may be the record that was
// altered), or an I/O error.
func Read(path string) ([]Record, error) {
	data, err := boundedread.File(path, boundedread.Journal)
	if err != nil {
		return nil, err
	}
	p := parse(data)
	return p.records, withPath(p.err, path)
}

// Verify is Read without the records.
func Verify(path string) error {
	_, err := Read(path)
	return err
}

// Parse verifies and decodes a journal held in memory; it is Read without
// the file.
func Parse(data []byte) ([]Record, error) {
	p := parse(data)
	return p.records, p.err
}

func withPath(err error, path string) error {
	switch e := err.(type) {
	case *ChainError:
		e.Path = path
	case *TornTailError:
		e.Path = path
	}
	return err
}

// parsed is the result of parse: the verified records, the hash of the last
// verified line (the chain's head), the run id, and the length of the
// verified prefix of the data.
type parsed struct {
	records []Record
	head    string
	run     string
	size    int64
	err     error
}

func parse(data []byte) parsed {
	var p parsed
	end := bytes.LastIndexByte(data, '\n') + 1
	body, tail := data[:end], data[end:]
	line := 0
	for len(body) > 0 {
		line++
		i := bytes.IndexByte(body, '\n')
		text := body[:i]
		body = body[i+1:]
		rec, err := verifyLine(text, uint64(line), &p)
		if err != nil {
			p.err = &ChainError{Line: line, Reason: err.Error()}
			return p
		}
		p.records = append(p.records, rec)
		p.head = hashLine(text)
		p.size += int64(len(text)) + 1
	}
	if len(tail) > 0 {
		p.err = &TornTailError{Line: line + 1, Offset: p.size, Bytes: len(tail)}
	}
	return p
}

// verifyLine decodes line number n and checks it continues the chain p.
func verifyLine(text []byte, n uint64, p *parsed) (Record, error) {
	var rec Record
	if err := json.Unmarshal(text, &rec); err != nil {
		return rec, fmt.Errorf("not a journal record (%v)", err)
	}
	if !rec.Type.known() {
		return rec, fmt.Errorf("unknown record type %q", rec.Type)
	}
	if rec.Seq != n {
		return rec, fmt.Errorf("sequence number %d where %d belongs: records were deleted, inserted or reordered", rec.Seq, n)
	}
	want := p.head
	if n == 1 {
		if rec.Type != RunStarted || rec.Run == "" {
			return rec, fmt.Errorf("the first record is %s, not run_started with a run id", rec.Type)
		}
		p.run = rec.Run
		want = Genesis(rec.Run)
	} else if rec.Type == RunStarted {
		return rec, fmt.Errorf("a second run_started record")
	}
	if rec.Prev != want {
		if n == 1 {
			return rec, fmt.Errorf("prev is not the genesis hash of run %q", rec.Run)
		}
		return rec, fmt.Errorf("prev does not match line %d: that line was changed, or records were removed or reordered", n-1)
	}
	return rec, nil
}
