package azurerm

import (
	"bytes"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/google/go-cmp/cmp"
	"github.com/runbook-dev/runbook/clock"
	"github.com/runbook-dev/runbook/executor/journal"
	"github.com/runbook-dev/runbook/internal/azuritetest"
	"github.com/runbook-dev/runbook/state"
	"github.com/runbook-dev/runbook/state/statetest"
)

// TestContractSegmented runs the backend contract with segments of two
// blocks, so that creating, importing, resuming and concurrent appends all
// cross roll-overs.
func TestContractSegmented(t *testing.T) {
	statetest.Run(t, func(t *testing.T) func() state.Backend {
		_, name := azuritetest.Container(t)
		return func() state.Backend { return newBackend(t, name, Config{SegmentBlocks: 2}) }
	})
}

// writeRun writes run r1 with n records, one Append Block each.
func writeRun(t *testing.T, b *Backend, n int) {
	t.Helper()
	clk := clock.NewFake(time.Date(2026, 11, 28, 23, 0, 0, 0, time.UTC))
	j, err := b.CreateJournal(ctx(t), "r1", clk)
	if err != nil {
		t.Fatal(err)
	}
	appendRecords(t, j, n)
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
}

// appendRecords appends n records to j, each durable on its own: the
// first a run_started if j is new, the others step intents.
func appendRecords(t *testing.T, j *journal.Journal, n int) {
	t.Helper()
	for i := range n {
		rec := journal.Record{Type: journal.StepIntent, Step: fmt.Sprintf("step.s%d", i), Attempt: 1}
		if seq, _ := j.Head(); seq == 0 {
			rec = journal.Record{Type: journal.RunStarted}
		}
		if err := j.Append(rec); err != nil {
			t.Fatal(err)
		}
	}
}

// journalBlobs lists the blobs under KEY/runs/.
func journalBlobs(t *testing.T, b *Backend) []string {
	t.Helper()
	prefix := b.blobName("runs") + "/"
	pager := b.container.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{Prefix: &prefix})
	var names []string
	for pager.More() {
		page, err := pager.NextPage(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Segment.BlobItems {
			names = append(names, strings.TrimPrefix(*it.Name, prefix))
		}
	}
	slices.Sort(names)
	return names
}

// records reads run r1 and returns its verified records.
func records(t *testing.T, b *Backend) []journal.Record {
	t.Helper()
	data, err := b.ReadJournal(ctx(t), "r1")
	if err != nil {
		t.Fatal(err)
	}
	recs, err := journal.Parse(data)
	if err != nil {
		t.Fatalf("journal read back does not verify: %v", err)
	}
	return recs
}

// TestRollOver: a journal rolls over to a new segment when one is full;
// it reads back whole, in order, in one request per segment; Runs lists
// the run once; a resume from another machine continues in the last
// segment and rolls over again.
func TestRollOver(t *testing.T) {
	_, name := azuritetest.Container(t)
	b := newBackend(t, name, Config{SegmentBlocks: 3})
	writeRun(t, b, 10)
	want := []string{"r1.jsonl", "r1/000001.jsonl", "r1/000002.jsonl", "r1/000003.jsonl"}
	if diff := cmp.Diff(want, journalBlobs(t, b)); diff != "" {
		t.Errorf("blobs (-want +got):\n%s", diff)
	}
	other := newBackend(t, name, Config{SegmentBlocks: 3})
	before := other.Stats().Requests
	if got := len(records(t, other)); got != 10 {
		t.Errorf("read back %d records, want 10", got)
	}
	if got := other.Stats().Requests - before; got != 4 {
		t.Errorf("reading 4 segments took %d requests, want 4", got)
	}
	runs, err := other.Runs(ctx(t))
	if err != nil || !slices.Equal(runs, []string{"r1"}) {
		t.Errorf("Runs = %v, %v; want [r1]", runs, err)
	}

	clk := clock.NewFake(time.Date(2026, 11, 29, 1, 0, 0, 0, time.UTC))
	j, err := other.OpenJournal(ctx(t), "r1", clk)
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Append(journal.Record{Type: journal.RunResumed}); err != nil {
		t.Fatal(err)
	}
	appendRecords(t, j, 3)
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	recs := records(t, b)
	if len(recs) != 14 || recs[10].Type != journal.RunResumed {
		t.Fatalf("after the resume: %d records, record 11 %q; want 14, record 11 run_resumed", len(recs), recs[10].Type)
	}
	if n := len(journalBlobs(t, b)); n != 5 {
		t.Errorf("%d segments after the resume, want 5 (3+3+3+3+2 blocks)", n)
	}
}

// TestOneSegmentCostsNothing: a journal that never fills a segment is one
// blob without metadata, written and read as before there were segments.
func TestOneSegmentCostsNothing(t *testing.T) {
	_, name := azuritetest.Container(t)
	b := newBackend(t, name, Config{})
	before := b.Stats().Requests
	writeRun(t, b, 5)
	if got := b.Stats().Requests - before; got != 6 {
		t.Errorf("creating a journal and 5 appends took %d requests, want 6", got)
	}
	before = b.Stats().Requests
	records(t, b)
	if got := b.Stats().Requests - before; got != 1 {
		t.Errorf("reading a one-segment journal took %d requests, want 1", got)
	}
	props, err := b.container.NewBlobClient(b.journalBlob("r1")).GetProperties(ctx(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(props.Metadata) != 0 {
		t.Errorf("metadata on a one-segment journal: %v", props.Metadata)
	}
}

// TestOldLayoutRollsOver: a journal written in one blob with more blocks
// than the segment limit (by a version without segments, or with a higher
// limit) reads as it is, and a resume rolls over at its first append.
func TestOldLayoutRollsOver(t *testing.T) {
	_, name := azuritetest.Container(t)
	writeRun(t, newBackend(t, name, Config{}), 6)
	b := newBackend(t, name, Config{SegmentBlocks: 3})
	if got := len(records(t, b)); got != 6 {
		t.Fatalf("read %d records, want 6", got)
	}
	j, err := b.OpenJournal(ctx(t), "r1", clock.NewFake(time.Date(2026, 11, 29, 1, 0, 0, 0, time.UTC)))
	if err != nil {
		t.Fatal(err)
	}
	appendRecords(t, j, 1)
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"r1.jsonl", "r1/000001.jsonl"}, journalBlobs(t, b)); diff != "" {
		t.Errorf("blobs (-want +got):\n%s", diff)
	}
	if got := len(records(t, b)); got != 7 {
		t.Errorf("read %d records after the resume, want 7", got)
	}
}

// TestSegmentTampered: a counted segment deleted, a middle segment cut
// short, the last segment dropped from the count or cut short. Each is
// refused when read (a broken chain) or against the head the state
// document keeps (a journal truncated), by runs and by a resume.
func TestSegmentTampered(t *testing.T) {
	tests := map[string]struct {
		tamper func(t *testing.T, b *Backend)
		want   string // in the error of ReadJournal, or else of VerifyJournal
	}{
		"middle segment deleted": {
			func(t *testing.T, b *Backend) { deleteBlob(t, b, b.segmentBlob("r1", 1)) },
			"broken chain: segment 2 of 4 (east/quarterly/runs/r1/000001.jsonl) is missing",
		},
		"last segment deleted": {
			func(t *testing.T, b *Backend) { deleteBlob(t, b, b.segmentBlob("r1", 3)) },
			":10: broken chain: segment 4 of 4 (east/quarterly/runs/r1/000003.jsonl) is missing",
		},
		"middle segment cut short": {
			func(t *testing.T, b *Backend) { cutBlob(t, b, b.segmentBlob("r1", 1), 1) },
			"6: broken chain: sequence number 7 where 6 belongs",
		},
		"last segment uncounted": {
			func(t *testing.T, b *Backend) { setSegments(t, b, "3") },
			"journal truncated: it holds 9 records, its head names record 10",
		},
		"last segment cut short": {
			func(t *testing.T, b *Backend) { cutBlob(t, b, b.segmentBlob("r1", 3), 1) },
			"journal truncated: it holds 9 records, its head names record 10",
		},
		"segments metadata garbled": {
			func(t *testing.T, b *Backend) { setSegments(t, b, "many") },
			`metadata runbooksegments="many" is not a number of journal segments`,
		},
	}
	for n, tc := range tests {
		t.Run(n, func(t *testing.T) {
			_, name := azuritetest.Container(t)
			b := newBackend(t, name, Config{SegmentBlocks: 3})
			writeRun(t, b, 10)
			recordHead(t, b)
			tc.tamper(t, b)

			doc, _, err := state.ReadDocument(ctx(t), b)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err = state.VerifyJournal(ctx(t), b, doc, "r1"); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("VerifyJournal = %v, want it to say %q", err, tc.want)
			}
			sums, err := state.Summaries(ctx(t), b)
			if err != nil || len(sums) != 1 || sums[0].Chain != journal.ChainBroken || !strings.Contains(sums[0].Problem, tc.want) {
				t.Errorf("Summaries = %+v, %v; want r1 broken saying %q", sums, err, tc.want)
			}
			if _, err := b.OpenJournal(ctx(t), "r1", clock.Real); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("OpenJournal = %v, want it to say %q", err, tc.want)
			}
		})
	}
}

// recordHead keeps run r1's head in the state document, as apply does.
func recordHead(t *testing.T, b *Backend) {
	t.Helper()
	recs := records(t, b)
	data, _ := b.ReadJournal(ctx(t), "r1")
	n, hash, err := journal.HeadOf(data)
	if err != nil || n != uint64(len(recs)) {
		t.Fatal(n, err)
	}
	if _, err := state.Update(ctx(t), b, func(d *state.Document) error {
		d.SetHead("r1", state.RunHead{Records: n, Hash: hash})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func deleteBlob(t *testing.T, b *Backend, name string) {
	t.Helper()
	if _, err := b.container.NewBlobClient(name).Delete(ctx(t), nil); err != nil {
		t.Fatal(err)
	}
}

// cutBlob rewrites a blob without its last n lines, as someone with write
// access to the container can (Put Blob replaces an append blob).
func cutBlob(t *testing.T, b *Backend, name string, n int) {
	t.Helper()
	data, err := b.download(ctx(t), name, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(data, []byte("\n"))
	lines = lines[:len(lines)-1-n] // SplitAfter leaves an empty last element
	if _, err := b.container.NewBlockBlobClient(name).Upload(ctx(t), streaming.NopCloser(bytes.NewReader(bytes.Join(lines, nil))), nil); err != nil {
		t.Fatal(err)
	}
}

func setSegments(t *testing.T, b *Backend, v string) {
	t.Helper()
	if _, err := b.container.NewBlobClient(b.journalBlob("r1")).SetMetadata(ctx(t), map[string]*string{segmentsKey: &v}, nil); err != nil {
		t.Fatal(err)
	}
}

// TestAmbiguousAtRollOver: the reply is lost, after Azurite did the work,
// for each request around a roll-over: the append that fills a segment,
// the creation of the next one, the count in segment 0's metadata, and the
// first append to the new segment. Each retry finds its work done, and no
// record is written twice or lost.
func TestAmbiguousAtRollOver(t *testing.T) {
	segment1 := func(r *http.Request) bool { return strings.HasSuffix(r.URL.Path, "/runs/r1/000001.jsonl") }
	tests := map[string]func(r *http.Request) bool{
		// With 3 blocks a segment, the third append fills segment 0.
		"filling append": nthMatch(3, isAppend),
		"create":         func(r *http.Request) bool { return segment1(r) && r.Method == http.MethodPut && r.URL.RawQuery == "" },
		"count":          func(r *http.Request) bool { return r.URL.Query().Get("comp") == "metadata" },
		"first append":   func(r *http.Request) bool { return segment1(r) && isAppend(r) },
	}
	for n, match := range tests {
		t.Run(n, func(t *testing.T) {
			_, name := azuritetest.Container(t)
			tr := &faults{fault: once(match, "drop")}
			clk := clock.NewFake(time.Date(2026, 11, 28, 23, 0, 0, 0, time.UTC))
			b := newBackend(t, name, Config{Transport: tr, Clock: clk, SegmentBlocks: 3,
				Retry: RetryOptions{Delay: time.Millisecond, MaxDelay: time.Millisecond}})
			done := make(chan error, 1)
			go func() {
				j, err := b.CreateJournal(ctx(t), "r1", clk)
				if err == nil {
					for i := 0; i < 5 && err == nil; i++ {
						rec := journal.Record{Type: journal.StepIntent, Step: fmt.Sprintf("step.s%d", i), Attempt: 1}
						if i == 0 {
							rec = journal.Record{Type: journal.RunStarted}
						}
						err = j.Append(rec)
					}
					if cerr := j.Close(); err == nil {
						err = cerr
					}
				}
				done <- err
			}()
			advanceUntil(t, clk, done)
			if tr.injected != 1 {
				t.Fatalf("%d replies dropped, want 1", tr.injected)
			}
			if got := len(records(t, b)); got != 5 {
				t.Errorf("%d records read back, want 5", got)
			}
			if diff := cmp.Diff([]string{"r1.jsonl", "r1/000001.jsonl"}, journalBlobs(t, b)); diff != "" {
				t.Errorf("blobs (-want +got):\n%s", diff)
			}
		})
	}
}

// nthMatch matches the nth request that match matches.
func nthMatch(n int, match func(r *http.Request) bool) func(r *http.Request) bool {
	var seen atomic.Int32
	return func(r *http.Request) bool { return match(r) && seen.Add(1) == int32(n) }
}

// TestInterruptedRollOver: a roll-over that created the next segment but
// died before counting it leaves an empty blob, which the resumed run's
// roll-over takes over; one that holds records is another writer's.
func TestInterruptedRollOver(t *testing.T) {
	_, name := azuritetest.Container(t)
	b := newBackend(t, name, Config{SegmentBlocks: 3})
	writeRun(t, b, 3)
	c := b.container.NewAppendBlobClient(b.segmentBlob("r1", 1))
	if err := b.createAppendBlob(ctx(t), c, "r1/000001.jsonl"); err != nil {
		t.Fatal(err)
	}
	if got := len(records(t, b)); got != 3 {
		t.Fatalf("%d records with an uncounted empty segment, want 3", got)
	}
	j, err := b.OpenJournal(ctx(t), "r1", clock.Real)
	if err != nil {
		t.Fatal(err)
	}
	appendRecords(t, j, 4) // segment 1 full: segment 2 is next
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if got := len(records(t, b)); got != 7 {
		t.Fatalf("%d records after the resume, want 7", got)
	}

	// Another writer's segment 3 is there already.
	other := b.container.NewAppendBlobClient(b.segmentBlob("r1", 3))
	if err := b.createAppendBlob(ctx(t), other, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := other.AppendBlock(ctx(t), streaming.NopCloser(strings.NewReader("{}\n")), nil); err != nil {
		t.Fatal(err)
	}
	j, err = b.OpenJournal(ctx(t), "r1", clock.Real)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3 && err == nil; i++ { // two fill segment 2, the third rolls over
		err = j.Append(journal.Record{Type: journal.Note, Reason: "more"})
	}
	if err == nil || !strings.Contains(err.Error(), "holds records already: two applies are running the same run") {
		t.Errorf("append over another writer's segment = %v", err)
	}
	j.Close()
}

// TestServiceSaysFull: when the service refuses an append because the
// segment is full (it counts more blocks than we did), the block goes to
// a new segment, once.
func TestServiceSaysFull(t *testing.T) {
	_, name := azuritetest.Container(t)
	tr := &fullOnce{next: http.DefaultClient, match: nthMatch(2, isAppend)}
	b := newBackend(t, name, Config{Transport: tr})
	writeRun(t, b, 3)
	if !tr.done.Load() {
		t.Fatal("no append was refused")
	}
	if diff := cmp.Diff([]string{"r1.jsonl", "r1/000001.jsonl"}, journalBlobs(t, b)); diff != "" {
		t.Errorf("blobs (-want +got):\n%s", diff)
	}
	if got := len(records(t, b)); got != 3 {
		t.Errorf("%d records read back, want 3", got)
	}
}

// fullOnce answers the first request match matches with 409
// BlockCountExceedsLimit, without forwarding it.
type fullOnce struct {
	next  *http.Client
	match func(r *http.Request) bool
	done  atomic.Bool
}

func (f *fullOnce) Do(r *http.Request) (*http.Response, error) {
	if f.match(r) && f.done.CompareAndSwap(false, true) {
		h := http.Header{}
		h.Set("x-ms-error-code", "BlockCountExceedsLimit")
		return &http.Response{StatusCode: http.StatusConflict, Status: "409 Conflict", Header: h, Body: http.NoBody, Request: r}, nil
	}
	return f.next.Do(r)
}
