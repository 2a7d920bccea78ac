// Package azurerm keeps runbook state in an Azure Blob Storage container:
// in Azure, or in the blob service of an Azure Stack Hub stamp, shared by
// the operators and the CI of a team. Azurite, the storage emulator, runs
// its tests.
//
// # Layout
//
// Every blob of a runbook lives under its key (a prefix such as
// "east/quarterly"):
//
//	KEY/state.json              the state document, written with If-Match
//	KEY/runs/RUN.jsonl          a run's journal: an append blob, its first segment
//	KEY/runs/RUN/000001.jsonl   the journal's next segment, once the first is full
//	KEY/locks/NAME              a zero-byte blob, leased while held
//	KEY/plans/PLAN.applied      a consumed saved plan, created with If-None-Match: *
//	KEY/key-id                  the fingerprint of the key (never the key)
//
// Lock names are hashed so that blob names stay under Azure Stack Hub's
// 880-character limit.
//
// # Journals
//
// A journal is an append blob. The engine's group commit (executor/journal)
// hands each batch of records to one Append Block carrying
// x-ms-blob-condition-appendpos, the length the blob must have: a record is
// durable, and its step's side effect may start, only once that request is
// acknowledged. When the connection is lost after the request was sent, the
// outcome is unknown; the retry carries the same position, and if the
// service answers that the position no longer matches, the tail is read
// back and compared with what was sent: the same bytes mean the first try
// landed, anything else means another writer, and the journal stops. A
// record is never written twice.
//
// An append blob takes at most 50,000 blocks, so a journal rolls over to
// a new segment when one is full (see segment.go); the journal is its
// segments in order, and the hash chain runs across them.
//
// # Locks
//
// A lock is a 60-second lease on its blob, renewed every 15 seconds on the
// clock while the apply runs; the holder (user, host, pid, run, started) is
// in the blob's metadata. A killed holder stops renewing and its lease
// expires within a minute, after which any machine can take the lock and
// resume. A lease that could not be renewed before it ran out is reported
// lost (Lease.Lost), and the engine starts no further step.
//
// # Service version
//
// azblob sends the newest storage service version it knows in x-ms-version
// (2026-12-06 in v1.8.3) and refuses to be configured otherwise. Azure
// Stack Hub's blob service answers such versions with 400
// InvalidHeaderValue, so a per-call pipeline policy rewrites the header to
// DefaultServiceVersion (2019-07-07) before the request is signed. Only
// operations that version knows are used: block and append blobs, leases,
// metadata and conditional headers; no tags, seal or encryption scopes.
//
// # The key
//
// The key that MACs saved plans and keys secret fingerprints is not stored
// in the container: anyone who can read the container could otherwise
// forge plans. It comes from the operator's environment (RUNBOOK_STATE_KEY
// in the CLI: a CI secret, or a key vault), and the container keeps only
// its fingerprint in key-id, so a machine with another key is refused
// before it plans or applies anything.
package azurerm
