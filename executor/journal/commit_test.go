package journal

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestGroupCommitShared makes the first commit's fsync block until 999
// more records are queued behind it: they must all go out with one more
// fsync.
func TestGroupCommitShared(t *testing.T) {
	m := &memFile{}
	j := New(m, "gc", newTicking())
	defer j.Close()
	mustAppend(t, j, Record{Type: RunStarted})

	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	m.set(nil, func() error {
		once.Do(func() { close(entered); <-release })
		return nil
	})
	errs := make(chan error, 1000)
	go func() { errs <- j.Append(Record{Type: Note, Reason: "first"}) }()
	<-entered
	for i := range 999 {
		go func() { errs <- j.Append(Record{Type: StepIntent, Step: fmt.Sprintf("step.s%03d", i), Attempt: 1}) }()
	}
	waitFor(t, "999 queued records", func() bool { return j.pendingRecords() == 999 })
	close(release)
	for range 1000 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if got := j.Syncs(); got != 3 { // run_started, the first note, the 999
		t.Errorf("Syncs = %d, want 3", got)
	}
	recs, err := Parse(m.bytes())
	if err != nil || len(recs) != 1001 {
		t.Errorf("file holds %d records, %v; want 1001 and an intact chain", len(recs), err)
	}
	if seq, _ := j.Head(); seq != 1001 {
		t.Errorf("Head seq = %d, want 1001", seq)
	}
}

// TestGroupCommitRealFile appends 1,000 records from 1,000 goroutines to a
// real file: every one must be durable and the fsyncs far fewer.
func TestGroupCommitRealFile(t *testing.T) {
	dir := t.TempDir()
	j, err := Create(dir, "gc", newTicking())
	if err != nil {
		t.Fatal(err)
	}
	mustAppend(t, j, Record{Type: RunStarted})
	start := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 1000)
	for i := range 1000 {
		wg.Go(func() {
			<-start
			if err := j.Append(Record{Type: StepIntent, Step: fmt.Sprintf("step.s%03d", i), Attempt: 1}); err != nil {
				errs <- err
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	syncs := j.Syncs()
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	run, err := Load(filepath.Join(dir, "gc.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if run.Records != 1001 || len(run.InFlight()) != 1000 {
		t.Errorf("%d records, %d in flight; want 1001 and 1000", run.Records, len(run.InFlight()))
	}
	t.Logf("1000 concurrent appends: %d fsyncs", syncs-1)
	if syncs > 500 {
		t.Errorf("%d fsyncs for 1000 concurrent appends: group commit is not batching", syncs)
	}
}

// TestWriteFailure: a failed write or fsync fails every waiter of its
// batch and every Append after it.
func TestWriteFailure(t *testing.T) {
	tests := map[string]struct {
		write func([]byte) (int, error)
		sync  func() error
		want  error
	}{
		"disk full during the write": {
			write: func(p []byte) (int, error) { return len(p) / 3, syscall.ENOSPC },
			want:  syscall.ENOSPC,
		},
		"short write without an error": {
			write: func(p []byte) (int, error) { return len(p) - 1, nil },
			want:  io.ErrShortWrite,
		},
		"fsync fails": {
			sync: func() error { return syscall.EIO },
			want: syscall.EIO,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			m := &memFile{}
			j := New(m, "full", newTicking())
			mustAppend(t, j, Record{Type: RunStarted})
			// Hold the next commit's fsync so ten records queue into one
			// batch, then make that batch fail.
			entered, release := make(chan struct{}), make(chan struct{})
			m.set(nil, func() error { close(entered); <-release; return nil })
			first := make(chan error, 1)
			go func() { first <- j.Append(Record{Type: Note, Reason: "held"}) }()
			<-entered
			errs := make(chan error, 10)
			for i := range 10 {
				go func() { errs <- j.Append(Record{Type: StepIntent, Step: fmt.Sprintf("step.s%d", i)}) }()
			}
			waitFor(t, "10 queued records", func() bool { return j.pendingRecords() == 10 })
			m.set(tc.write, tc.sync)
			close(release)
			if err := <-first; err != nil {
				t.Fatalf("held append: %v", err)
			}
			for range 10 {
				if err := <-errs; !errors.Is(err, tc.want) {
					t.Errorf("waiter error = %v, want %v", err, tc.want)
				}
			}
			syncs := j.Syncs()
			if err := j.Append(Record{Type: Note, Reason: "later"}); !errors.Is(err, tc.want) {
				t.Errorf("later Append error = %v, want %v", err, tc.want)
			}
			if j.Syncs() != syncs {
				t.Error("a later Append wrote to a failed journal")
			}
			if err := j.Close(); !errors.Is(err, tc.want) {
				t.Errorf("Close error = %v, want %v", err, tc.want)
			}
			if seq, _ := j.Head(); seq != 2 {
				t.Errorf("durable head seq = %d, want 2", seq)
			}
		})
	}
}

// TestDiskFullLeavesRecoverableFile: after a write torn by a full disk, the
// file on disk is a valid chain with a torn tail, which Open repairs.
func TestDiskFullLeavesRecoverableFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "full.jsonl")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	ff := &fullFile{File: f, room: 600}
	j := New(ff, "full", newTicking())
	var appendErr error
	for i := 0; appendErr == nil; i++ {
		appendErr = j.Append(Record{Type: map[bool]Type{true: RunStarted, false: Note}[i == 0], Reason: "x"})
	}
	j.Close()
	if !errors.Is(appendErr, syscall.ENOSPC) {
		t.Fatalf("append error = %v, want ENOSPC", appendErr)
	}
	var tt *TornTailError
	if err := Verify(path); !errors.As(err, &tt) {
		t.Fatalf("Verify = %v, want a torn tail", err)
	}
	j, err = Open(path, newTicking())
	if err != nil {
		t.Fatal(err)
	}
	j.Close()
	if err := Verify(path); err != nil {
		t.Errorf("after repair: %v", err)
	}
}

// fullFile is a real file on a disk with room bytes left.
type fullFile struct {
	*os.File
	room int
}

func (f *fullFile) Write(p []byte) (int, error) {
	if len(p) <= f.room {
		f.room -= len(p)
		return f.File.Write(p)
	}
	n, _ := f.File.Write(p[:f.room])
	f.room = 0
	return n, syscall.ENOSPC
}

func TestList(t *testing.T) {
	dir := t.TempDir()
	clk := newTicking()
	write := func(id string, recs ...Record) {
		j, err := Create(dir, id, clk)
		if err != nil {
			t.Fatal(err)
		}
		mustAppend(t, j, recs...)
		j.Close()
	}
	started := func(plan string) Record { return Record{Type: RunStarted, PlanID: plan, User: "ops"} }
	intent := func(s string) Record { return Record{Type: StepIntent, Step: s, Attempt: 1} }
	result := func(s string, st Status) Record { return Record{Type: StepResult, Step: s, Attempt: 1, Status: st} }
	write("b-ok", started("p1"), intent("step.a"), result("step.a", Succeeded), Record{Type: RunEnded, Status: Succeeded})
	write("a-failed", started("p2"), intent("step.a"), result("step.a", Failed), result("step.b", Skipped),
		intent("step.c"), result("step.c", Succeeded), Record{Type: RunEnded, Status: Failed})
	write("c-crashed", started("p3"), intent("step.a"), Record{Type: StepHandle, Step: "step.a", Handle: "h"})
	write("d-stopped", started("p4"), Record{Type: RunEnded, Status: Stopped, Reason: "window closes"})
	write("e-broken", started("p5"), intent("step.a"), result("step.a", Succeeded))
	data, _ := os.ReadFile(filepath.Join(dir, "e-broken.jsonl"))
	os.WriteFile(filepath.Join(dir, "e-broken.jsonl"), []byte(strings.Replace(string(data), "step.a", "step.x", 1)), 0o600)
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not a journal"), 0o600)

	runs, err := List(dir)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		ID     string
		Plan   string
		Status RunStatus
		Steps  StepCounts
		Chain  ChainState
	}
	var got []row
	for _, r := range runs {
		got = append(got, row{r.ID, r.PlanID, r.Status, r.Steps, r.Chain})
	}
	want := []row{ // in order of start time
		{"b-ok", "p1", RunSucceeded, StepCounts{Succeeded: 1}, ChainOK},
		{"a-failed", "p2", RunFailed, StepCounts{Succeeded: 1, Failed: 1, Skipped: 1}, ChainOK},
		{"c-crashed", "p3", RunUnfinished, StepCounts{InFlight: 1}, ChainOK},
		{"d-stopped", "p4", RunStopped, StepCounts{}, ChainOK},
		// Line 2 was edited; line 3 shows it, so the listing describes
		// lines 1 and 2 (the edited intent included).
		{"e-broken", "p5", RunUnfinished, StepCounts{InFlight: 1}, ChainBroken},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("List (-want +got):\n%s", diff)
	}
	if runs, err := List(filepath.Join(dir, "missing")); err != nil || runs != nil {
		t.Errorf("List of a missing dir = %v, %v", runs, err)
	}
}
