package journal

import (
	"errors"
	"fmt"

	"github.com/runbook-dev/runbook/clock"
)

// Continue resumes the journal whose records so far are data, appending
// to f, which must write after them (a remote append-only object). It
// verifies the chain first and refuses a broken one (*ChainError) and a
// torn last line (*TornTailError): where each write is all or nothing, as
// with a blob store's append, a partial line cannot come from a crash,
// only from damage. name is used in messages. The caller should append a
// run_resumed record.
func Continue(f File, name string, data []byte, clk clock.Clock) (*Journal, error) {
	p := parse(data)
	if p.err != nil {
		return nil, withPath(p.err, name)
	}
	if p.run == "" {
		return nil, withPath(&ChainError{Line: 1, Reason: "the journal is empty: it has no run_started record"}, name)
	}
	return start(f, name, p.run, clk, uint64(len(p.records)), p.head), nil
}

// ErrTruncated is wrapped by CheckHead's error when a journal holds fewer
// records than its head says: records were cut off its end.
var ErrTruncated = errors.New("journal truncated")

// CheckHead verifies that the journal data, already verified as a chain,
// still holds the record numbered records whose line hashes to hash (a
// head kept elsewhere, e.g. in the state document). An empty hash checks
// nothing. Records after the head are allowed: the journal grew since.
func CheckHead(name string, data []byte, records uint64, hash string) error {
	if hash == "" || records == 0 {
		return nil
	}
	p := parse(data)
	if uint64(len(p.records)) < records {
		return fmt.Errorf("journal %s: %w: it holds %d records, its head names record %d", name, ErrTruncated, len(p.records), records)
	}
	got := p.head
	if records < uint64(len(p.records)) {
		got = p.records[records].Prev // the hash of line number records
	}
	if got != hash {
		return &ChainError{Path: name, Line: int(records), Reason: "the record does not match the head kept in the state document: the journal was rewritten"}
	}
	return nil
}

// HeadOf verifies journal data and returns its head: the number of
// records and the hash of the last one ("" for none).
func HeadOf(data []byte) (records uint64, hash string, err error) {
	p := parse(data)
	return uint64(len(p.records)), p.head, p.err
}

// Summarise summarises a journal held in memory (the journal of run id,
// read from a backend), as List does for files; name is used in messages.
func Summarise(id, name string, data []byte) RunSummary {
	return summary(name, parse(data), id)
}
