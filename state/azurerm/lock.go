package azurerm

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/lease"
	"github.com/runbook-dev/runbook/executor/lock"
	"github.com/runbook-dev/runbook/state"
)

var randReader = rand.Reader

// holderKey is the metadata name holding the holder: base64 of its JSON,
// because metadata values must be plain ASCII and user names need not be.
const holderKey = "runbookholder"

// lockBlob is the blob of a lock: its name hashed, so that any name (a
// target is an endpoint URL) makes a short, valid blob name.
func (b *Backend) lockBlob(name string) string {
	sum := sha256.Sum256([]byte(name))
	return b.blobName("locks", hex.EncodeToString(sum[:16]))
}

// Lock implements state.Backend: it leases the lock's blob for
// state.LeaseDuration (creating the blob if needed), records the holder in
// its metadata under the lease, and renews the lease every
// state.RenewEvery (or Config.RenewEvery) on the clock until Release.
func (b *Backend) Lock(ctx context.Context, name string, holder lock.Holder) (state.Lease, error) {
	blobName := b.lockBlob(name)
	bb := b.container.NewBlockBlobClient(blobName)
	_, err := bb.Upload(ctx, streaming.NopCloser(bytes.NewReader(nil)), &blockblob.UploadOptions{
		AccessConditions: &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfNoneMatch: to.Ptr(azcore.ETagAny)}},
	})
	// 409 BlobAlreadyExists, or 412 LeaseIdMissing when someone holds it:
	// either way the blob is there.
	if st := status(err); err != nil && st != 409 && st != 412 {
		return nil, b.explain("create lock "+name, blobName, err)
	}
	id, err := newLeaseID()
	if err != nil {
		return nil, err
	}
	lc, err := lease.NewBlobClient(bb, &lease.BlobClientOptions{LeaseID: &id})
	if err != nil {
		return nil, err
	}
	if _, err := lc.AcquireLease(ctx, int32(state.LeaseDuration/time.Second), nil); err != nil {
		if isCode(err, bloberror.LeaseAlreadyPresent) || status(err) == 409 {
			return nil, b.held(ctx, name, blobName)
		}
		return nil, b.explain("lease lock "+name, blobName, err)
	}
	l := &blobLease{
		b: b, name: name, blob: blobName, lc: lc, bb: bb, id: id, holder: holder,
		renewed: b.clock.Now(), lost: make(chan struct{}), stop: make(chan struct{}), done: make(chan struct{}),
	}
	if err := l.writeHolder(ctx, holder); err != nil {
		lc.ReleaseLease(context.WithoutCancel(ctx), nil)
		return nil, err
	}
	go l.renew()
	return l, nil
}

// held builds the *lock.HeldError for a lock someone else holds.
func (b *Backend) held(ctx context.Context, name, blobName string) error {
	e := &lock.HeldError{Target: name, Path: b.String() + "/" + blobName}
	if h, ok, err := b.Holder(ctx, name); err == nil && ok {
		e.PID, e.Host, e.User, e.Started, e.Run = h.PID, h.Host, h.User, h.Started, h.Run
	}
	return &HeldError{e}
}

// HeldError is a lock held on another machine: lock.HeldError's message,
// but waiting is what helps, not the holder's exit.
type HeldError struct{ *lock.HeldError }

func (e *HeldError) Error() string {
	h := e.HeldError
	if h.PID == 0 {
		return fmt.Sprintf("%s is locked by another apply (%s); wait for it to finish", h.Target, h.Path)
	}
	msg := fmt.Sprintf("%s is locked by pid %d on %s", h.Target, h.PID, h.Host)
	if h.User != "" {
		msg += fmt.Sprintf(" (user %s)", h.User)
	}
	if !h.Started.IsZero() {
		msg += " since " + h.Started.UTC().Format(time.RFC3339)
	}
	if h.Run != "" {
		msg += ", run " + h.Run
	}
	return msg + fmt.Sprintf("; wait for that apply to finish (a holder that died loses the lock within %s)", state.LeaseDuration)
}

// Unwrap lets errors.As find the *lock.HeldError.
func (e *HeldError) Unwrap() error { return e.HeldError }

// Holder implements state.Backend: one GetProperties of the lock's blob.
func (b *Backend) Holder(ctx context.Context, name string) (lock.Holder, bool, error) {
	h, ok, _, err := b.holder(ctx, name)
	return h, ok, err
}

// holder reads the holder of a lock and the ETag of its blob, which
// changes whenever another holder records itself.
func (b *Backend) holder(ctx context.Context, name string) (lock.Holder, bool, azcore.ETag, error) {
	blobName := b.lockBlob(name)
	props, err := b.container.NewBlobClient(blobName).GetProperties(ctx, nil)
	if isCode(err, bloberror.BlobNotFound) {
		return lock.Holder{}, false, "", nil
	}
	if err != nil {
		return lock.Holder{}, false, "", b.explain("read lock "+name, blobName, err)
	}
	var etag azcore.ETag
	if props.ETag != nil {
		etag = *props.ETag
	}
	if props.LeaseState == nil || (*props.LeaseState != lease.StateTypeLeased && *props.LeaseState != lease.StateTypeBreaking) {
		return lock.Holder{}, false, etag, nil
	}
	for k, v := range props.Metadata {
		if v != nil && equalFold(k, holderKey) {
			h, err := decodeHolder(*v)
			return h, true, etag, err
		}
	}
	return lock.Holder{}, true, etag, nil
}

// BreakLock implements state.Backend: BreakLease with no break period,
// after which the holder's renewals fail and it stops starting steps. The
// break is conditional on the ETag of the read that found holder still
// holding the lock, so a lock that changed hands in between (another
// holder records itself in the metadata) is refused, not broken.
func (b *Backend) BreakLock(ctx context.Context, name string, holder lock.Holder) error {
	h, ok, etag, err := b.holder(ctx, name)
	if err != nil || !ok {
		return err
	}
	if !h.Equal(holder) {
		return fmt.Errorf("lock %s: %w", name, state.ErrChangedHands)
	}
	return b.breakLease(ctx, name, etag)
}

// breakLease breaks the lease of a lock if its blob's ETag still is etag.
func (b *Backend) breakLease(ctx context.Context, name string, etag azcore.ETag) error {
	blobName := b.lockBlob(name)
	lc, err := lease.NewBlobClient(b.container.NewBlockBlobClient(blobName), nil)
	if err != nil {
		return err
	}
	opts := &lease.BlobBreakOptions{BreakPeriod: to.Ptr[int32](0)}
	if etag != "" {
		opts.ModifiedAccessConditions = &blob.ModifiedAccessConditions{IfMatch: &etag}
	}
	_, err = lc.BreakLease(ctx, opts)
	switch {
	case err == nil || isCode(err, bloberror.LeaseNotPresentWithLeaseOperation):
		return nil
	case status(err) == 412:
		return fmt.Errorf("lock %s: %w", name, state.ErrChangedHands)
	}
	return b.explain("break lock "+name, blobName, err)
}

// blobLease is a held lock.
type blobLease struct {
	b    *Backend
	name string
	blob string
	lc   *lease.BlobClient
	bb   *blockblob.Client
	id   string

	mu      sync.Mutex
	holder  lock.Holder // as last recorded
	renewed time.Time   // last successful acquire or renew, on the clock
	err     error
	lost    chan struct{}
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
}

func (l *blobLease) Name() string          { return l.name }
func (l *blobLease) Lost() <-chan struct{} { return l.lost }

func (l *blobLease) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// writeHolder records h in the lock blob's metadata, under the lease.
func (l *blobLease) writeHolder(ctx context.Context, h lock.Holder) error {
	meta, err := encodeHolder(h)
	if err == nil {
		_, err = l.bb.SetMetadata(ctx, map[string]*string{holderKey: &meta}, &blob.SetMetadataOptions{
			AccessConditions: &blob.AccessConditions{LeaseAccessConditions: &blob.LeaseAccessConditions{LeaseID: &l.id}},
		})
	}
	if err != nil {
		return l.b.explain("record the holder of lock "+l.name, l.blob, err)
	}
	return nil
}

// SetRun implements state.Lease: Set Blob Metadata with the lease id, so
// that it fails once the lease was broken or taken.
func (l *blobLease) SetRun(ctx context.Context, run string) error {
	l.mu.Lock()
	h := l.holder
	l.mu.Unlock()
	h.Run = run
	if err := l.writeHolder(ctx, h); err != nil {
		return err
	}
	l.mu.Lock()
	l.holder = h
	l.mu.Unlock()
	return nil
}

// renew renews the lease every RenewEvery until Release. A failed renewal
// is retried at the next tick; once the lease may have run out (a margin
// before LeaseDuration since the last success), or the service says the
// lease is gone (broken, or taken by another), the lease is lost.
func (l *blobLease) renew() {
	defer close(l.done)
	every := l.b.cfg.RenewEvery
	if every <= 0 || every > state.RenewEvery {
		every = state.RenewEvery
	}
	t := l.b.clock.NewTimer(every)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C():
		}
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			select {
			case <-l.stop:
				cancel()
			case <-ctx.Done():
			}
		}()
		_, err := l.lc.RenewLease(ctx, nil)
		cancel()
		now := l.b.clock.Now()
		switch {
		case err == nil:
			l.mu.Lock()
			l.renewed = now
			l.mu.Unlock()
		case isCode(err, bloberror.LeaseIDMismatchWithLeaseOperation, bloberror.LeaseLost, bloberror.LeaseNotPresentWithLeaseOperation,
			bloberror.LeaseIsBrokenAndCannotBeRenewed, bloberror.LeaseIsBreakingAndCannotBeAcquired) || status(err) == 409:
			l.fail(fmt.Errorf("lock %s: the lease was broken or taken by another holder (%s)", l.name, l.b.explain("renew", l.blob, err)))
			return
		default:
			l.mu.Lock()
			since := now.Sub(l.renewed)
			l.mu.Unlock()
			if since >= state.LeaseDuration-leaseMargin {
				l.fail(fmt.Errorf("lock %s: the lease could not be renewed for %s and may have expired: %w", l.name, since.Round(time.Second), l.b.explain("renew", l.blob, err)))
				return
			}
		}
		t.Reset(every)
	}
}

// leaseMargin is how long before the lease's end without a renewal the
// holder stops trusting it: longer than one request may take.
const leaseMargin = 10 * time.Second

func (l *blobLease) fail(err error) {
	l.mu.Lock()
	l.err = err
	l.mu.Unlock()
	close(l.lost)
}

// Release implements state.Lease: it stops renewing, clears the holder and
// releases the lease.
func (l *blobLease) Release(ctx context.Context) error {
	var err error
	l.once.Do(func() {
		close(l.stop)
		<-l.done
		if l.Err() != nil {
			return // not ours any more
		}
		ctx := context.WithoutCancel(ctx)
		leased := &blob.AccessConditions{LeaseAccessConditions: &blob.LeaseAccessConditions{LeaseID: &l.id}}
		_, err = l.bb.SetMetadata(ctx, map[string]*string{}, &blob.SetMetadataOptions{AccessConditions: leased})
		if _, rerr := l.lc.ReleaseLease(ctx, nil); rerr != nil {
			err = errors.Join(err, rerr)
		}
		if err != nil {
			err = l.b.explain("release lock "+l.name, l.blob, err)
		}
	})
	return err
}

func newLeaseID() (string, error) {
	var u [16]byte
	if _, err := randReader.Read(u[:]); err != nil {
		return "", err
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	h := hex.EncodeToString(u[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:], nil
}

func encodeHolder(h lock.Holder) (string, error) {
	data, err := json.Marshal(h)
	return base64.StdEncoding.EncodeToString(data), err
}

func decodeHolder(s string) (lock.Holder, error) {
	var h lock.Holder
	data, err := base64.StdEncoding.DecodeString(s)
	if err == nil && len(data) <= 4096 {
		err = json.Unmarshal(data, &h)
	}
	return h, err
}

func equalFold(a, b string) bool { return bytes.EqualFold([]byte(a), []byte(b)) }

var _ state.Backend = (*Backend)(nil)
