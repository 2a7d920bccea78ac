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

// maxJournal bounds how much of a journal (all its segments) is read.
const maxJournal = 256 << 20

func (b *Backend) blobName(elem ...string) string {
	return b.cfg.Key + "/" + strings.Join(elem, "/")
}

func (b *Backend) journalBlob(run string) string { return b.blobName("runs", run+".jsonl") }

// runName names a run's journal in messages, as package state does.
func (b *Backend) runName(run string) string { return b.String() + " run " + run }

// CreateJournal implements state.Backend: it creates the run's first
// segment (If-None-Match: *) and returns a journal appending to it.
func (b *Backend) CreateJournal(ctx context.Context, run string, clk clock.Clock) (*journal.Journal, error) {
	name := b.journalBlob(run)
	c := b.container.NewAppendBlobClient(name)
	err := b.createAppendBlob(ctx, c, name)
	if err == errBlobExists {
		// A lost reply to our own create looks the same; an empty blob is
		// ours to use, anything else is another run's.
		data, rerr := b.ReadJournal(ctx, run)
		if rerr != nil || len(data) > 0 {
			return nil, fmt.Errorf("journal of run %s: %w", run, state.ErrExist)
		}
		err = nil
	}
	if err != nil {
		return nil, err
	}
	f := b.appendTo(context.WithoutCancel(ctx), run, 0, 0, 0)
	return journal.New(f, run, clk), nil
}

// OpenJournal implements state.Backend: it reads every segment, verifies
// the chain and checks it against the head the state document recorded
// for the run, so that a journal cut short is refused before a resume
// appends to it. A journal that does not end in a whole record was
// damaged (appends are all or nothing) and is refused like a broken chain.
// Appends go on in the last segment.
func (b *Backend) OpenJournal(ctx context.Context, run string, clk clock.Clock) (*journal.Journal, error) {
	s, err := b.readSegments(ctx, run)
	if err != nil {
		return nil, err
	}
	f := b.appendTo(context.WithoutCancel(ctx), run, s.segments-1, s.last, s.blocks)
	j, err := journal.Continue(f, b.runName(run), s.data, clk)
	if err != nil {
		return nil, err
	}
	if err := b.checkHead(ctx, run, s.data); err != nil {
		j.Close() // nothing was appended
		return nil, err
	}
	return j, nil
}

// checkHead compares a journal with the head the state document keeps
// for its run, if any.
func (b *Backend) checkHead(ctx context.Context, run string, data []byte) error {
	doc, _, err := state.ReadDocument(ctx, b)
	if err != nil {
		return err
	}
	if h, ok := doc.Runs[run]; ok {
		return journal.CheckHead(b.runName(run), data, h.Records, h.Hash)
	}
	return nil
}

// ImportJournal implements state.Backend: it creates the first segment
// and appends data in blocks, rolling over to further segments as a run
// would.
func (b *Backend) ImportJournal(ctx context.Context, run string, data []byte) error {
	name := b.journalBlob(run)
	err := b.createAppendBlob(ctx, b.container.NewAppendBlobClient(name), name)
	if err == errBlobExists {
		return fmt.Errorf("journal of run %s: %w", run, state.ErrExist)
	}
	if err != nil {
		return err
	}
	f := b.appendTo(ctx, run, 0, 0, 0)
	f.buf = data
	return f.Sync()
}

// ReadJournal implements state.Backend: the bytes of every segment in
// order, one GET per segment.
func (b *Backend) ReadJournal(ctx context.Context, run string) ([]byte, error) {
	s, err := b.readSegments(ctx, run)
	return s.data, err
}

// blobPart is what one GET of a blob returned.
type blobPart struct {
	data []byte
	meta map[string]*string
	// blocks is the committed block count of an append blob, -1 when the
	// service did not say.
	blocks int
}

// download reads count bytes at off of a blob (count 0: to the end).
func (b *Backend) download(ctx context.Context, name string, off, count int64) ([]byte, error) {
	p, err := b.downloadPart(ctx, name, off, count, maxJournal)
	return p.data, err
}

// downloadPart is download with the blob's metadata and block count; it
// reads at most limit bytes.
func (b *Backend) downloadPart(ctx context.Context, name string, off, count, limit int64) (blobPart, error) {
	p := blobPart{blocks: -1}
	resp, err := b.container.NewBlobClient(name).DownloadStream(ctx, &blob.DownloadStreamOptions{
		Range: blob.HTTPRange{Offset: off, Count: count},
	})
	if err != nil {
		return p, err
	}
	defer resp.Body.Close()
	p.meta = resp.Metadata
	if resp.BlobCommittedBlockCount != nil {
		p.blocks = int(*resp.BlobCommittedBlockCount)
	}
	p.data, err = io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err == nil && int64(len(p.data)) > limit {
		err = fmt.Errorf("%s: the journal is larger than %d bytes", name, maxJournal)
	}
	return p, err
}

// Runs implements state.Backend: it lists KEY/runs/. Segments after the
// first are under KEY/runs/RUN/ and are not runs of their own.
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

// createAppendBlob creates an empty append blob if there is none
// (If-None-Match: *); errBlobExists if there is one.
func (b *Backend) createAppendBlob(ctx context.Context, c *appendblob.Client, name string) error {
	_, err := c.Create(ctx, &appendblob.CreateOptions{
		HTTPHeaders:      &blob.HTTPHeaders{BlobContentType: to.Ptr("application/x-ndjson")},
		AccessConditions: &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfNoneMatch: to.Ptr(azcore.ETagAny)}},
	})
	if isCode(err, bloberror.BlobAlreadyExists, bloberror.ConditionNotMet) || status(err) == 409 || status(err) == 412 {
		return errBlobExists
	}
	return b.explain("create journal", name, err)
}

// appendFile is the journal.File of a run's segments. Write keeps the
// bytes; Sync sends what was written since the last Sync as Append Blocks
// at the known length of the last segment (the group commit's one write
// per batch), rolling over to a new segment when that one is full.
type appendFile struct {
	b   *Backend
	run string
	// ctx is the journal's: not cancelled with a command's Ctrl-C, so the
	// records of a stopping apply still reach the store; each request is
	// bounded by the retry policy.
	ctx context.Context
	// limit is the most blocks a segment takes (Config.SegmentBlocks).
	limit int

	seg    int // the segment appended to
	c      *appendblob.Client
	name   string
	off    int64 // its length as last acknowledged
	blocks int   // its committed blocks; -1 when unknown, which counts as full
	buf    []byte
}

// appendTo returns the journal.File appending to segment seg of run, whose
// length is off and block count blocks.
func (b *Backend) appendTo(ctx context.Context, run string, seg int, off int64, blocks int) *appendFile {
	name := b.segmentBlob(run, seg)
	return &appendFile{b: b, run: run, ctx: ctx, limit: b.segmentBlocks(),
		seg: seg, c: b.container.NewAppendBlobClient(name), name: name, off: off, blocks: blocks}
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

// append sends one block at f.off of the current segment, after rolling
// over if it is full.
func (f *appendFile) append(block []byte) error {
	if f.blocks < 0 || f.blocks >= f.limit {
		if err := f.roll(); err != nil {
			return err
		}
	}
	err := f.appendBlock(block)
	if err == errSegmentFull {
		// The service counts more blocks than we did (a segment written
		// by another version with a higher limit): roll over once.
		if err = f.roll(); err == nil {
			err = f.appendBlock(block)
		}
	}
	if err == errSegmentFull {
		err = fmt.Errorf("azurerm %s: a new journal segment is full", f.name)
	}
	return err
}

// appendBlock sends one block at f.off. When the service says the
// position no longer matches, or that the segment is full, an earlier try
// whose reply was lost may have landed: the tail is read back, and the
// same bytes there are success. A full segment without them is
// errSegmentFull.
func (f *appendFile) appendBlock(block []byte) error {
	_, err := f.c.AppendBlock(f.ctx, streaming.NopCloser(bytes.NewReader(block)), &appendblob.AppendBlockOptions{
		AppendPositionAccessConditions: &appendblob.AppendPositionAccessConditions{AppendPosition: to.Ptr(f.off)},
	})
	if isCode(err, bloberror.AppendPositionConditionNotMet, bloberror.BlockCountExceedsLimit) {
		got, rerr := f.b.download(f.ctx, f.name, f.off, int64(len(block)))
		if status(rerr) == 416 { // nothing at f.off
			got, rerr = nil, nil
		}
		switch {
		case rerr == nil && bytes.Equal(got, block):
			err = nil // our earlier try landed
		case rerr == nil && len(got) == 0 && isCode(err, bloberror.BlockCountExceedsLimit):
			return errSegmentFull
		case rerr == nil:
			return fmt.Errorf("azurerm %s: another writer appended to this run's journal at byte %d: two applies are running the same run; stopping", f.name, f.off)
		}
	}
	if err != nil {
		return f.b.explain("append to journal", f.name, err)
	}
	f.off += int64(len(block))
	f.blocks++
	return nil
}
