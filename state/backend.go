package state

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/runbook-dev/runbook/clock"
	"github.com/runbook-dev/runbook/executor/journal"
	"github.com/runbook-dev/runbook/executor/lock"
)

// Backend is where a runbook's memory lives: the journals of its runs (the
// audit trail and the resume anchor), the state document (what each step's
// last successful apply recorded, and the head of every run's journal), the
// locks that keep two applies apart, the marks of consumed saved plans and
// the key that MACs saved plans.
//
// Two implementations exist: state/local keeps everything in the
// .runbook directory beside the runbook (the default), and state/azurerm
// keeps it in an Azure Blob Storage container shared by a team and its CI.
// Both speak the same record format, chain and document, so a run can be
// moved from one to the other (state migrate) and verified there.
//
// Every method takes a context and returns promptly once it is cancelled.
// Errors a caller must tell apart are ErrNotFound, ErrExist, ErrStale,
// ErrConsumed and *lock.HeldError; others are I/O failures worth showing.
type Backend interface {
	// String names the backend for messages ("local .runbook in DIR",
	// "azurerm ACCOUNT/CONTAINER/KEY"); it never holds a credential.
	String() string

	// CreateJournal starts the journal of a new run. It fails with
	// ErrExist if the run has one. The journal's appends are durable in
	// the backend before Append returns, and appends of concurrent steps
	// share one write (group commit).
	CreateJournal(ctx context.Context, run string, clk clock.Clock) (*journal.Journal, error)
	// OpenJournal continues the journal of an earlier run, to resume it.
	// It verifies the chain first and refuses a broken one
	// (*journal.ChainError).
	OpenJournal(ctx context.Context, run string, clk clock.Clock) (*journal.Journal, error)
	// ReadJournal returns the journal of a run as stored, for replay and
	// verification (journal.Parse). ErrNotFound if there is none.
	ReadJournal(ctx context.Context, run string) ([]byte, error)
	// Runs lists the ids of every run with a journal, sorted.
	Runs(ctx context.Context) ([]string, error)
	// ImportJournal stores the journal of a run as it is, for state
	// migrate; the caller has verified it. ErrExist if the run has one.
	ImportJournal(ctx context.Context, run string, data []byte) error

	// ReadDocument returns the state document and its ETag, or ErrNotFound
	// when none was written yet.
	ReadDocument(ctx context.Context) (data []byte, etag string, err error)
	// WriteDocument replaces the state document if its ETag still is
	// ifMatch, or creates it if ifMatch is "" and there is none; otherwise
	// it fails with ErrStale and writes nothing. It returns the new ETag.
	WriteDocument(ctx context.Context, data []byte, ifMatch string) (etag string, err error)

	// Lock takes the named lock ("runbook", or a target's lock.Target)
	// for holder without waiting, or fails with a *lock.HeldError naming
	// the current holder. The lock holds until Release, or until the
	// process dies (local: the kernel drops the flock; azurerm: the lease
	// is not renewed and expires within LeaseDuration).
	Lock(ctx context.Context, name string, holder lock.Holder) (Lease, error)
	// BreakLock breaks a lock someone else holds, if holder (as Holder
	// named it to the operator, who confirmed) still holds it: a lock that
	// changed hands since fails with ErrChangedHands and stays held, and a
	// free lock is left alone. A local lock cannot be taken from a live
	// process: it fails naming the holder.
	BreakLock(ctx context.Context, name string, holder lock.Holder) error
	// Holder says who holds a lock now, if anyone (ok false when free).
	Holder(ctx context.Context, name string) (h lock.Holder, ok bool, err error)

	// ConsumePlan marks a saved plan applied, once: a second call for the
	// same plan, from this machine or another, fails with ErrConsumed.
	ConsumePlan(ctx context.Context, planID string) error
	// PlanConsumed reports whether ConsumePlan was called for the plan.
	PlanConsumed(ctx context.Context, planID string) (bool, error)

	// Key returns the runbook's 32-byte secret key: it MACs saved plans
	// and keys the HMAC fingerprints of secret values, so two machines
	// agree on "no change" only if they share it. Where it comes from is
	// the backend's to say (see the implementations).
	Key(ctx context.Context) ([]byte, error)
}

// Lease is a lock held. While an apply runs, the backend keeps it (an
// azurerm lease is renewed on the clock); Lost is closed when it could not
// be kept, after which no new side effect may start.
type Lease interface {
	// Name is the lock's name.
	Name() string
	// Lost is closed when the lock is no longer certainly held: a renewal
	// failed until the lease ran out, or another process broke it.
	Lost() <-chan struct{}
	// Err says why Lost was closed, nil before.
	Err() error
	// SetRun records run as the run the holder works on, in place of the
	// one it named when the lock was taken, so that a refusal and
	// force-unlock -run name the run really applied: an apply draws a new
	// run id before it locks, and learns only under the lock that it
	// resumes an earlier run. The holder is rewritten under the lock
	// (azurerm: Set Blob Metadata with the lease id; local: the record in
	// the lock file), so it fails if the lock is no longer held.
	SetRun(ctx context.Context, run string) error
	// Release gives the lock up. It is safe to call more than once.
	Release(ctx context.Context) error
}

// LeaseDuration is how long an azurerm lock survives its holder's death,
// and RenewEvery how often a live holder renews it: three renewals can
// fail before the lease runs out.
const (
	LeaseDuration = 60 * time.Second
	RenewEvery    = 15 * time.Second
)

// The errors a caller tells apart.
var (
	// ErrNotFound: no such journal or document.
	ErrNotFound = errors.New("not found")
	// ErrExist: the run already has a journal.
	ErrExist = errors.New("already exists")
	// ErrStale: the state document changed since it was read (HTTP 412 on
	// If-Match, or its hash differs locally); read it again and retry.
	ErrStale = errors.New("the state document changed since it was read")
	// ErrConsumed: the saved plan was applied already.
	ErrConsumed = errors.New("the plan was applied already; a plan is applied once: make a new one")
	// ErrChangedHands: BreakLock found the lock held by another holder
	// than the one shown to the operator, and left it alone.
	ErrChangedHands = errors.New("the lock changed hands since its holder was shown")
)

// Locks returns the lock names an apply takes: the runbook's own, then its
// targets in sorted order, duplicates removed. Taking them in this order
// everywhere keeps two applies from deadlocking.
func Locks(targets []string) []string {
	names := []string{RunbookLock}
	seen := map[string]bool{RunbookLock: true}
	sorted := append([]string(nil), targets...)
	slices.Sort(sorted)
	for _, t := range sorted {
		if !seen[t] {
			seen[t] = true
			names = append(names, t)
		}
	}
	return names
}

// RunbookLock is the name of the lock every apply of a runbook takes.
const RunbookLock = "runbook"
