package azurerm

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/appendblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/runbook-dev/runbook/clock"
	"github.com/runbook-dev/runbook/executor/journal"
	"github.com/runbook-dev/runbook/state"
)

// maxBlock is the largest Append Block the pinned service version takes
// (4 MiB before 2019-12-12).
const maxBlock = 4 << 20

// maxJournal bounds how much of a journal blob is read.
const maxJournal = 256 << 20

func (b *Backend) blobName(elem ...string) string {
	return b.cfg.Key + "/" + strings.Join(elem, "/")
}

func (b *Backend) journalBlob(run string) string { return b.blobName("runs", run+".jsonl") }

// CreateJournal implements state.Backend: it creates the run's append blob
// (If-None-Match: *) and returns a journal appending to it.
func (b *Backend) CreateJournal(ctx context.Context, run string, clk clock.Clock) (*journal.Journal, error) {
	name := b.journalBlob(run)
	c := b.container.NewAppendBlobClient(name)
	_, err := c.Create(ctx, &appendblob.CreateOptions{
		HTTPHeaders:      &blob.HTTPHeaders{BlobContentType: to.Ptr("application/x-ndjson")},
		AccessConditions: &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfNoneMatch: to.Ptr(azcore.ETagAny)}},
	})
	if isCode(err, bloberror.BlobAlreadyExists, bloberror.ConditionNotMet) || status(err) == 409 {
		// A lost reply to our own create looks the same; an empty blob is
		// ours to use, anything else is another run's.
		data, rerr := b.ReadJournal(ctx, run)
		if rerr != nil || len(data) > 0 {
			return nil, fmt.Errorf("journal of run %s: %w", run, state.ErrExist)
		}
		err = nil
	}
	if err != nil {
		return nil, b.explain("create journal", name, err)
	}
	f := &appendFile{b: b, c: c, name: name, ctx: context.WithoutCancel(ctx)}
	return journal.New(f, run, clk), nil
}

// OpenJournal implements state.Backend. A journal blob that does not end
// in a whole record was damaged (appends are all or nothing) and is
// refused like a broken chain.
func (b *Backend) OpenJournal(ctx context.Context, run string, clk clock.Clock) (*journal.Journal, error) {
	data, err := b.ReadJournal(ctx, run)
	if err != nil {
		return nil, err
	}
	name := b.journalBlob(run)
	f := &appendFile{b: b, c: b.container.NewAppendBlobClient(name), name: name, off: int64(len(data)), ctx: context.WithoutCancel(ctx)}
	return journal.Continue(f, b.String()+"/"+name, data, clk)
}

// ImportJournal implements state.Backend: it creates the append blob and
// appends data in blocks.
func (b *Backend) ImportJournal(ctx context.Context, run string, data []byte) error {
	name := b.journalBlob(run)
	c := b.container.NewAppendBlobClient(name)
	_, err := c.Create(ctx, &appendblob.CreateOptions{
		HTTPHeaders:      &blob.HTTPHeaders{BlobContentType: to.Ptr("application/x-ndjson")},
		AccessConditions: &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfNoneMatch: to.Ptr(azcore.ETagAny)}},
	})
	if st := status(err); st == 409 || st == 412 {
		return fmt.Errorf("journal of run %s: %w", run, state.ErrExist)
	}
	if err != nil {
		return b.explain("import journal", name, err)
	}
	f := &appendFile{b: b, c: c, name: name, ctx: ctx, buf: data}
	return f.Sync()
}

// ReadJournal implements state.Backend.
func (b *Backend) ReadJournal(ctx context.Context, run string) ([]byte, error) {
	name := b.journalBlob(run)
	data, err := b.download(ctx, name, 0, 0)
	if isCode(err, bloberror.BlobNotFound) {
		return nil, fmt.Errorf("journal of run %s: %w", run, state.ErrNotFound)
	}
	return data, b.explain("read journal", name, err)
}

// download reads count bytes at off of a blob (count 0: to the end).
func (b *Backend) download(ctx context.Context, name string, off, count int64) ([]byte, error) {
	resp, err := b.container.NewBlobClient(name).DownloadStream(ctx, &blob.DownloadStreamOptions{
		Range: blob.HTTPRange{Offset: off, Count: count},
	})
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxJournal+1))
	if err == nil && len(data) > maxJournal {
		err = fmt.Errorf("%s is larger than %d bytes", name, maxJournal)
	}
	return data, err
}

// Runs implements state.Backend: it lists KEY/runs/.
func (b *Backend) Runs(ctx context.Context) ([]string, error) {
	prefix := b.blobName("runs") + "/"
	pager := b.container.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{Prefix: &prefix})
	var runs []string
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, b.explain("list runs", prefix, err)
		}
		for _, it := range page.Segment.BlobItems {
			if it.Name == nil {
				continue
			}
			if run, ok := strings.CutSuffix(strings.TrimPrefix(*it.Name, prefix), ".jsonl"); ok && !strings.Contains(run, "/") {
				runs = append(runs, run)
			}
		}
	}
	slices.Sort(runs)
	return runs, nil
}

// appendFile is the journal.File of an append blob. Write keeps the bytes;
// Sync sends what was written since the last Sync as Append Blocks at the
// known length of the blob (the group commit's one write per batch).
type appendFile struct {
	b    *Backend
	c    *appendblob.Client
	name string
	// ctx is the journal's: not cancelled with a command's Ctrl-C, so the
	// records of a stopping apply still reach the store; each request is
	// bounded by the retry policy.
	ctx context.Context
	off int64 // the blob's length as last acknowledged
	buf []byte
}

func (f *appendFile) Write(p []byte) (int, error) {
	f.buf = append(f.buf, p...)
	return len(p), nil
}

func (f *appendFile) Sync() error {
	for len(f.buf) > 0 {
		n := len(f.buf)
		if n > maxBlock {
			n = bytes.LastIndexByte(f.buf[:maxBlock], '\n') + 1
			if n == 0 {
				return fmt.Errorf("azurerm %s: a journal record is larger than %d bytes", f.name, maxBlock)
			}
		}
		if err := f.append(f.buf[:n]); err != nil {
			return err
		}
		f.buf = f.buf[n:]
	}
	f.buf = nil
	return nil
}

func (f *appendFile) Close() error {
	if len(f.buf) > 0 {
		return f.Sync()
	}
	return nil
}

// append sends one block at f.off. When the service says the position no
// longer matches, an earlier try whose reply was lost may have landed: the
// tail is read back, and the same bytes there are success.
func (f *appendFile) append(block []byte) error {
	_, err := f.c.AppendBlock(f.ctx, streaming.NopCloser(bytes.NewReader(block)), &appendblob.AppendBlockOptions{
		AppendPositionAccessConditions: &appendblob.AppendPositionAccessConditions{AppendPosition: to.Ptr(f.off)},
	})
	if isCode(err, bloberror.AppendPositionConditionNotMet) {
		got, rerr := f.b.download(f.ctx, f.name, f.off, int64(len(block)))
		if rerr == nil && bytes.Equal(got, block) {
			err = nil // our earlier try landed
		} else if rerr == nil {
			return fmt.Errorf("azurerm %s: another writer appended to this run's journal at byte %d: two applies are running the same run; stopping", f.name, f.off)
		}
	}
	if err != nil {
		return f.b.explain("append to journal", f.name, err)
	}
	f.off += int64(len(block))
	return nil
}
