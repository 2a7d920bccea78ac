package journal

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/runbook-dev/runbook/clock"
	"github.com/runbook-dev/runbook/internal/boundedread"
)

// File is what a Journal writes to: an *os.File opened for appending, or a
// test double that fails like a full disk.
type File interface {
	Write(p []byte) (int, error)
	Sync() error
	Close() error
}

// ErrClosed is returned by Append after Close.
var ErrClosed = errors.New("journal closed")

// ErrInvalidRecord is wrapped by Append's error for a record that is wrong
// for its type or position (a bug in the caller). It does not harm the
// journal: later valid records are still accepted.
var ErrInvalidRecord = errors.New("invalid journal record")

var runIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// Journal appends records to one run's file. Its methods are safe for
// concurrent use.
type Journal struct {
	f    File
	name string // for messages: the path, or the run id
	clk  clock.Clock
	run  string

	mu      sync.Mutex
	seq     uint64 // last sequence number handed out
	head    string // hash of the last line handed out
	pending *batch // records queued for the next commit
	err     error  // sticky: set by the first failed write or fsync
	closed  bool

	durable  atomic.Pointer[headState] // last record on stable storage
	unsynced bool                      // written but not fsynced; only the committer and Close touch it
	// observe, if set, is told of records once they are durable; undurable
	// holds those written but not yet fsynced (committer and Close only).
	observe   func(recs []Record, seq uint64, hash string)
	undurable []Record
	syncs     atomic.Uint64
	wake      chan struct{} // capacity 1: a batch is pending, or Close
	exited    chan struct{} // closed when the committer returns
}

type batch struct {
	// durable is set when an Append waits on the batch: only then is the
	// write followed by an fsync. Queued records ride on the next fsync.
	durable bool
	buf     []byte
	recs    []Record // the batch's records, kept only for an observer
	seq     uint64
	head    string
	done    chan struct{}
	err     error
}

type headState struct {
	seq  uint64
	hash string
}

// Create starts the journal of run runID in dir: it creates dir (mode 0700)
// if needed and the file <runID>.jsonl (mode 0600), failing if that file
// already exists. The first record appended must be run_started.
func Create(dir, runID string, clk clock.Clock) (*Journal, error) {
	if !runIDPattern.MatchString(runID) {
		return nil, fmt.Errorf("journal: run id %q: want letters, digits, '.', '_' or '-', at most 128", runID)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	path := filepath.Join(dir, runID+".jsonl")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	if err := syncDir(dir); err != nil {
		f.Close()
		return nil, fmt.Errorf("journal: %w", err)
	}
	return start(f, path, runID, clk, 0, Genesis(runID)), nil
}

// New starts the journal of run runID on f, which must be empty. Create is
// New on a fresh file; New lets tests inject a File that fails.
func New(f File, runID string, clk clock.Clock) *Journal {
	return start(f, runID, runID, clk, 0, Genesis(runID))
}

// Open continues the journal at path, for a resumed run. It verifies the
// chain first and refuses a broken one (*ChainError). A torn last line
// (*TornTailError) is cut off, and a note saying so is appended, so the
// repair is itself audited. Records appended go on the chain after the
// last intact one. The caller should append a run_resumed record.
func Open(path string, clk clock.Clock) (*Journal, error) {
	data, err := boundedread.File(path, boundedread.Journal)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	p := parse(data)
	var torn *TornTailError
	if err := withPath(p.err, path); err != nil && !errors.As(err, &torn) {
		return nil, err
	}
	if p.run == "" {
		// A file created but never written: its name is its run id.
		p.run = filepath.Base(path[:len(path)-len(filepath.Ext(path))])
		p.head = Genesis(p.run)
	}
	f, err := openAppend(path)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	if torn != nil {
		err := f.Truncate(torn.Offset)
		if err == nil {
			err = f.Sync()
		}
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("journal %s: cutting off the torn last line: %w", path, err)
		}
	}
	j := start(f, path, p.run, clk, uint64(len(p.records)), p.head)
	if torn != nil {
		err := j.Append(Record{Type: Note, Reason: fmt.Sprintf(
			"cut off a torn last line (%d bytes) left by an interrupted write", torn.Bytes)})
		if err != nil {
			j.Close()
			return nil, err
		}
	}
	return j, nil
}

// appendFile is the journal file of a resumed run: a File that can also
// cut off a torn last line.
type appendFile interface {
	File
	Truncate(size int64) error
}

// openAppend opens a journal to continue it; a variable so that tests can
// make its truncation or sync fail.
var openAppend = func(path string) (appendFile, error) {
	return os.OpenFile(path, os.O_RDWR|os.O_APPEND, 0)
}

func start(f File, name, run string, clk clock.Clock, seq uint64, head string) *Journal {
	j := &Journal{
		f: f, name: name, clk: clk, run: run, seq: seq, head: head,
		wake: make(chan struct{}, 1), exited: make(chan struct{}),
	}
	j.durable.Store(&headState{seq: seq, hash: head})
	go j.commit()
	return j
}

// OnDurable sets fn to be told, in order, of every record appended from
// now on once it is on stable storage, with the journal's durable head
// then. It is called on the committer's goroutine (or Close's) and must
// return quickly: a state document that mirrors the journal (such as the
// steps' history) hands the work to a goroutine of its own. Set it before
// the records it must see are appended.
func (j *Journal) OnDurable(fn func(recs []Record, seq uint64, hash string)) {
	j.mu.Lock()
	j.observe = fn
	j.mu.Unlock()
}

// Append sets rec's Seq, Time and Prev (and Run on run_started), writes it
// and returns once it is on stable storage. Concurrent Appends share one
// fsync. After a failed write or fsync every Append fails with that error.
func (j *Journal) Append(rec Record) error {
	b, err := j.enqueue(rec, true)
	if err != nil {
		return err
	}
	<-b.done
	return b.err
}

// Queue is Append without the wait: the record is in order in the file
// before any record appended after it, and on stable storage once the next
// Append returns (or Close). Use it for records that need not be durable
// before the caller goes on, such as a step's result, whose loss in a crash
// only makes a resume re-check the step. It returns the error that stopped
// the journal, if any.
func (j *Journal) Queue(rec Record) error {
	_, err := j.enqueue(rec, false)
	return err
}

func (j *Journal) enqueue(rec Record, durable bool) (*batch, error) {
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		return nil, fmt.Errorf("journal %s: %w", j.name, ErrClosed)
	}
	if j.err != nil {
		err := j.err
		j.mu.Unlock()
		return nil, err
	}
	seq := j.seq + 1
	if rec.Type == RunStarted && rec.Run == "" {
		rec.Run = j.run
	}
	err := rec.check(seq)
	if err == nil && rec.Type == RunStarted && rec.Run != j.run {
		err = fmt.Errorf("run_started record for run %q in the journal of run %q", rec.Run, j.run)
	}
	if err != nil {
		j.mu.Unlock()
		return nil, fmt.Errorf("journal %s: %w: %v", j.name, ErrInvalidRecord, err)
	}
	rec.Seq, rec.Time, rec.Prev = seq, j.clk.Now().UTC(), j.head
	line, err := json.Marshal(rec)
	if err != nil {
		j.mu.Unlock()
		return nil, fmt.Errorf("journal %s: %w", j.name, err)
	}
	j.seq, j.head = seq, hashLine(line)
	b := j.pending
	if b == nil {
		b = &batch{done: make(chan struct{})}
		j.pending = b
		select {
		case j.wake <- struct{}{}:
		default:
		}
	}
	b.buf = append(append(b.buf, line...), '\n')
	if j.observe != nil {
		b.recs = append(b.recs, rec)
	}
	b.durable = b.durable || durable
	b.seq, b.head = j.seq, j.head
	j.mu.Unlock()
	return b, nil
}

// commit is the committer goroutine: it writes and fsyncs each pending
// batch, then releases its waiters.
func (j *Journal) commit() {
	defer close(j.exited)
	for range j.wake {
		j.gather()
		j.mu.Lock()
		b, failed, closed := j.pending, j.err, j.closed
		j.pending = nil
		j.mu.Unlock()
		if b != nil {
			b.err = failed
			if failed == nil {
				b.err = j.write(b)
			}
			close(b.done)
		}
		if closed {
			return
		}
	}
}

func (j *Journal) write(b *batch) error {
	n, err := j.f.Write(b.buf)
	if err == nil && n < len(b.buf) {
		err = io.ErrShortWrite
	}
	if err == nil && b.durable {
		j.syncs.Add(1)
		err = j.f.Sync()
	} else if err == nil {
		j.unsynced = true
	}
	if err != nil {
		err = fmt.Errorf("journal %s: %w; no record can be written after this", j.name, err)
		j.mu.Lock()
		j.err = err
		j.mu.Unlock()
		return err
	}
	j.mu.Lock()
	observe := j.observe
	j.mu.Unlock()
	if !b.durable {
		j.undurable = append(j.undurable, b.recs...)
		return nil
	}
	j.unsynced = false
	j.durable.Store(&headState{seq: b.seq, hash: b.head})
	if observe != nil {
		recs := append(j.undurable, b.recs...)
		j.undurable = nil
		observe(recs, b.seq, b.head)
	}
	return nil
}

// gatherYields bounds how often the committer yields to let records that
// are being appended at the same moment join the batch.
const gatherYields = 8

// gather lets the goroutines that are appending at the same moment as the
// one that woke the committer (the steps a finished step released, which
// start together) queue their records before the batch is written, so
// that they share one write. It yields the processor while the batch
// grows, a few times at most: no timer, no waiting for a record that may
// never come.
func (j *Journal) gather() {
	n := j.pendingLen()
	for range gatherYields {
		runtime.Gosched()
		m := j.pendingLen()
		if m == n {
			return
		}
		n = m
	}
}

func (j *Journal) pendingLen() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.pending == nil {
		return 0
	}
	return len(j.pending.buf)
}

// Close waits for queued records to be committed and closes the file. It
// returns the error that stopped the journal, if any, or Close's.
func (j *Journal) Close() error {
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		return nil
	}
	j.closed = true
	j.mu.Unlock()
	select {
	case j.wake <- struct{}{}:
	default:
	}
	<-j.exited
	var err error
	if j.unsynced && j.err == nil {
		// Records only queued since the last fsync reach the disk now.
		j.syncs.Add(1)
		if err = j.f.Sync(); err != nil {
			err = fmt.Errorf("journal %s: %w", j.name, err)
		} else {
			j.mu.Lock()
			j.durable.Store(&headState{seq: j.seq, hash: j.head})
			seq, head, observe := j.seq, j.head, j.observe
			j.mu.Unlock()
			if observe != nil && len(j.undurable) > 0 {
				observe(j.undurable, seq, head)
				j.undurable = nil
			}
		}
	}
	if cerr := j.f.Close(); err == nil {
		err = cerr
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.err != nil {
		return j.err
	}
	return err
}

// Head returns the sequence number and hash of the last record committed
// to stable storage: the value to keep elsewhere to prove later that the
// journal was not rewritten.
func (j *Journal) Head() (seq uint64, hash string) {
	h := j.durable.Load()
	return h.seq, h.hash
}

// Syncs returns how many times the journal has fsynced its file.
func (j *Journal) Syncs() uint64 { return j.syncs.Load() }

// Run returns the run id.
func (j *Journal) Run() string { return j.run }
