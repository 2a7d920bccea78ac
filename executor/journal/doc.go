// Package journal owns the journal of an apply: one JSON-lines file per run
// that is both the write-ahead log the engine resumes from and the audit log
// of who changed what, when.
//
// # Write-ahead
//
// The engine appends a step_intent record before every side effect and a
// step_result after it; Append returns only once the record is written and
// the file fsynced, so after a crash the journal shows every side effect
// that may have started. A record whose Append failed may or may not be on
// disk: resume treats an intent without a result as in flight and asks the
// remote side, which is safe either way.
//
// Appends from concurrent steps share one fsync (group commit): a committer
// goroutine takes whatever has been queued, writes it with one write, fsyncs
// once and releases every waiter of that batch. A write or fsync error (a
// full disk) fails every waiter of the batch and every later Append, because
// after a failed fsync the state of the file is unknown (see the PostgreSQL
// "fsyncgate" discussion); the engine then stops before its next side effect.
//
// # Hash chain
//
// Each record's Prev is the hex SHA-256 of the previous record's line as it
// is on disk (its bytes without the trailing newline). The first record's
// Prev is Genesis(runID), the SHA-256 of "runbook-journal-v1\n" followed by
// the run id, so a file's chain also names its run. Read and Verify detect
// an edited, deleted, inserted or reordered record and report the line; a
// partial last line, left by a crash in the middle of a write, is reported
// distinctly as a TornTailError, which Open repairs.
//
// The chain has no key: it shows accidental damage and naive edits, but
// someone who rewrites every record after the one they change, or appends
// records with correct hashes, produces a valid chain. To detect that, keep
// the head hash (Journal.Head, Run.Head) somewhere else, for instance in the
// output of the apply or a ticket, and compare.
//
// # No secrets
//
// A Record is a typed struct with no free-form map, so there is no place
// for a step's inputs. Callers must put in it only addresses, handles,
// statuses, error messages that are themselves free of secrets, and
// fingerprints (HMACs or hashes) of secret material, never the material.
package journal
