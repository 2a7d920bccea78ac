package azurerm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/runbook-dev/runbook/executor/journal"
	"github.com/runbook-dev/runbook/state"
)

// A run's journal is one or more append blobs, its segments, because an
// append blob takes at most 50,000 blocks and the group commit writes one
// block per batch: a long run, or a 10,000-step runbook applied a few
// steps at a time, would otherwise fail at its 50,000th write.
//
// Segment 0 is KEY/runs/RUN.jsonl, the journal's only blob before there
// were segments (such journals read as one segment); segment i > 0 is
// KEY/runs/RUN/00000i.jsonl, which Runs does not take for a run. The
// journal is the segments' bytes in order: a block holds whole records,
// so no record straddles two segments, and the hash chain runs on from
// one segment to the next.
//
// Once there is more than one, segment 0's metadata (segmentsKey) holds
// how many there are, so that a journal of one segment still reads in one
// request and a longer one in one per segment, without listing. A
// roll-over creates the next segment first and counts it second: a
// counted segment always exists, and a roll-over interrupted in between
// leaves an empty blob that no reader sees and the next roll-over takes
// over.
//
// A counted segment that is missing is reported as a broken chain at the
// first record it held; one cut short breaks the chain where the next
// segment starts; the last segment cut short or dropped from the count is
// a journal shorter than the head the state document keeps.

// DefaultSegmentBlocks is the most Append Blocks a journal segment takes
// when Config.SegmentBlocks is zero: the service's limit for an append blob.
const DefaultSegmentBlocks = 50000

// segmentsKey is the metadata of segment 0 that counts the segments.
const segmentsKey = "runbooksegments"

// maxSegments bounds the count read from that metadata.
const maxSegments = 100000

var (
	errBlobExists  = errors.New("the blob exists")
	errSegmentFull = errors.New("the journal segment is full")
)

func (b *Backend) segmentBlocks() int {
	if b.cfg.SegmentBlocks > 0 {
		return b.cfg.SegmentBlocks
	}
	return DefaultSegmentBlocks
}

// segmentBlob names segment seg of a run's journal.
func (b *Backend) segmentBlob(run string, seg int) string {
	if seg == 0 {
		return b.journalBlob(run)
	}
	return b.blobName("runs", run, fmt.Sprintf("%06d.jsonl", seg))
}

// segments is a journal as read: the bytes of its segments, and where the
// last one ends.
type segments struct {
	data     []byte
	segments int   // how many
	last     int64 // length of the last segment
	blocks   int   // its committed blocks; -1 when the service did not say
}

// readSegments reads every segment of a run's journal, in order.
func (b *Backend) readSegments(ctx context.Context, run string) (segments, error) {
	s := segments{segments: 1}
	for seg := 0; seg < s.segments; seg++ {
		name := b.segmentBlob(run, seg)
		p, err := b.downloadPart(ctx, name, 0, 0, maxJournal-int64(len(s.data)))
		switch {
		case isCode(err, bloberror.BlobNotFound) && seg == 0:
			return segments{}, fmt.Errorf("journal of run %s: %w", run, state.ErrNotFound)
		case isCode(err, bloberror.BlobNotFound):
			return segments{}, &journal.ChainError{Path: b.runName(run), Line: bytes.Count(s.data, []byte{'\n'}) + 1,
				Reason: fmt.Sprintf("segment %d of %d (%s) is missing: the records it held were deleted", seg+1, s.segments, name)}
		case err != nil:
			return segments{}, b.explain("read journal", name, err)
		}
		if seg == 0 {
			if s.segments, err = segmentCount(p.meta); err != nil {
				return segments{}, fmt.Errorf("azurerm %s: %w", name, err)
			}
		}
		s.data = append(s.data, p.data...)
		s.last, s.blocks = int64(len(p.data)), p.blocks
	}
	return s, nil
}

// segmentCount reads the number of segments from segment 0's metadata:
// 1 when it has none.
func segmentCount(meta map[string]*string) (int, error) {
	for k, v := range meta {
		if v == nil || !equalFold(k, segmentsKey) {
			continue
		}
		n, err := strconv.Atoi(*v)
		if err != nil || n < 1 || n > maxSegments {
			return 0, fmt.Errorf("metadata %s=%q is not a number of journal segments", segmentsKey, *v)
		}
		return n, nil
	}
	return 1, nil
}

// roll starts the next segment: it creates its blob (or takes over an
// empty one an interrupted roll-over left) and then counts it in segment
// 0's metadata, before anything is appended to it.
func (f *appendFile) roll() error {
	next := f.seg + 1
	name := f.b.segmentBlob(f.run, next)
	c := f.b.container.NewAppendBlobClient(name)
	err := f.b.createAppendBlob(f.ctx, c, name)
	if err == errBlobExists {
		data, rerr := f.b.download(f.ctx, name, 0, 0)
		if rerr != nil {
			return f.b.explain("read journal", name, rerr)
		}
		if len(data) > 0 {
			return fmt.Errorf("azurerm %s: the next segment of run %s's journal holds records already: two applies are running the same run; stopping", name, f.run)
		}
		err = nil
	}
	if err != nil {
		return err
	}
	first := f.b.segmentBlob(f.run, 0)
	count := strconv.Itoa(next + 1)
	if _, err := f.b.container.NewBlobClient(first).SetMetadata(f.ctx, map[string]*string{segmentsKey: &count}, nil); err != nil {
		return f.b.explain("count the journal's segments", first, err)
	}
	f.seg, f.c, f.name, f.off, f.blocks = next, c, name, 0, 0
	return nil
}
