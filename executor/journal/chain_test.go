package journal

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// writeRun writes runRecords plus a run_ended as run id to dir and returns
// the file's path and lines.
func writeRun(t *testing.T, dir, id string) (string, []string) {
	t.Helper()
	j, err := Create(dir, id, newTicking())
	if err != nil {
		t.Fatal(err)
	}
	mustAppend(t, j, runRecords...)
	mustAppend(t, j, Record{Type: StepResult, Step: "step.eventhub", Attempt: 1, Status: Failed, Error: "rotation failed: status Failed"},
		Record{Type: RunEnded, Status: Failed})
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, id+".jsonl")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
}

func TestChainTamper(t *testing.T) {
	tests := map[string]struct {
		tamper   func(lines []string) []string
		wantLine int
		wantText string
	}{
		"edit a field of a middle record": {
			tamper: func(l []string) []string {
				l[2] = strings.Replace(l[2], `"succeeded"`, `"failed"`, 1)
				return l
			},
			wantLine: 4, wantText: "prev does not match line 3",
		},
		"edit a record into garbage": {
			tamper:   func(l []string) []string { l[1] = l[1][:20]; return l },
			wantLine: 2, wantText: "not a journal record",
		},
		"delete a record": {
			tamper:   func(l []string) []string { return append(l[:2], l[3:]...) },
			wantLine: 3, wantText: "sequence number 4 where 3 belongs",
		},
		"reorder two records": {
			tamper:   func(l []string) []string { l[3], l[4] = l[4], l[3]; return l },
			wantLine: 4, wantText: "sequence number 5 where 4 belongs",
		},
		"append a forged record": {
			tamper: func(l []string) []string {
				forged := strings.Replace(l[len(l)-1], `"seq":8`, `"seq":9`, 1)
				forged = strings.Replace(forged, `"status":"failed"`, `"status":"succeeded"`, 1)
				return append(l, forged)
			},
			wantLine: 9, wantText: "prev does not match line 8",
		},
		"replay the first record at the end": {
			tamper:   func(l []string) []string { return append(l, l[0]) },
			wantLine: 9, wantText: "sequence number 1 where 9 belongs",
		},
		"rename the run in its first record": {
			tamper: func(l []string) []string {
				l[0] = strings.Replace(l[0], `"run":"r1"`, `"run":"r9"`, 1)
				return l
			},
			wantLine: 1, wantText: `genesis hash of run "r9"`,
		},
		"drop the first record": {
			tamper:   func(l []string) []string { return l[1:] },
			wantLine: 1, wantText: "sequence number 2 where 1 belongs",
		},
		"truncate the middle of a line": {
			tamper: func(l []string) []string {
				l[4] = l[4][:len(l[4])/2] + l[5]
				return append(l[:5], l[6:]...)
			},
			wantLine: 5, wantText: "not a journal record",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path, lines := writeRun(t, dir, "r1")
			lines = tc.tamper(lines)
			if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			recs, err := Read(path)
			var ce *ChainError
			if !errors.As(err, &ce) {
				t.Fatalf("Read error = %v, want a *ChainError", err)
			}
			if ce.Line != tc.wantLine || !strings.Contains(ce.Reason, tc.wantText) || ce.Path != path {
				t.Errorf("ChainError = %+v, want line %d and %q", ce, tc.wantLine, tc.wantText)
			}
			if len(recs) != tc.wantLine-1 {
				t.Errorf("Read returned %d records, want the %d before the break", len(recs), tc.wantLine-1)
			}
			if _, err := Load(path); !errors.As(err, &ce) {
				t.Errorf("Load error = %v, want a *ChainError", err)
			}
			if _, err := Open(path, newTicking()); !errors.As(err, &ce) {
				t.Errorf("Open error = %v, want a *ChainError", err)
			}
			runs, err := List(dir)
			if err != nil || len(runs) != 1 || runs[0].Chain != ChainBroken || !strings.Contains(runs[0].Problem, tc.wantText) {
				t.Errorf("List = %+v, %v; want one broken run", runs, err)
			}
		})
	}
}

func TestTornTail(t *testing.T) {
	dir := t.TempDir()
	path, lines := writeRun(t, dir, "r1")
	// A crash in the middle of writing record 9.
	torn := `{"seq":9,"time":"2026-11-28T22:00:08Z","type":"no`
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(torn)
	f.Close()

	recs, err := Read(path)
	var tt *TornTailError
	if !errors.As(err, &tt) {
		t.Fatalf("Read error = %v, want a *TornTailError", err)
	}
	var ce *ChainError
	if errors.As(err, &ce) {
		t.Fatal("a torn tail was reported as a broken chain")
	}
	intact := int64(len(strings.Join(lines, "\n")) + 1)
	if diff := cmp.Diff(&TornTailError{Path: path, Line: 9, Offset: intact, Bytes: len(torn)}, tt); diff != "" {
		t.Errorf("TornTailError (-want +got):\n%s", diff)
	}
	if len(recs) != 8 {
		t.Errorf("Read returned %d records, want 8", len(recs))
	}
	run, err := Load(path)
	if err != nil || !run.Torn || run.Records != 8 {
		t.Fatalf("Load = %+v, %v; want 8 records and Torn", run, err)
	}
	runs, _ := List(dir)
	if len(runs) != 1 || runs[0].Chain != ChainTorn {
		t.Errorf("List = %+v, want one torn run", runs)
	}

	j, err := Open(path, newTicking())
	if err != nil {
		t.Fatal(err)
	}
	mustAppend(t, j, Record{Type: RunResumed})
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	recs, err = Read(path)
	if err != nil {
		t.Fatalf("after Open repaired the tail: %v", err)
	}
	var types []Type
	for _, r := range recs[8:] {
		types = append(types, r.Type)
	}
	if diff := cmp.Diff([]Type{Note, RunResumed}, types); diff != "" {
		t.Errorf("records after the repair (-want +got):\n%s", diff)
	}
	if !strings.Contains(recs[8].Reason, "torn last line") {
		t.Errorf("repair note = %q", recs[8].Reason)
	}
}

func TestEmptyJournal(t *testing.T) {
	dir := t.TempDir()
	j, err := Create(dir, "r0", newTicking())
	if err != nil {
		t.Fatal(err)
	}
	j.Close() // crashed before run_started
	path := filepath.Join(dir, "r0.jsonl")
	if recs, err := Read(path); err != nil || len(recs) != 0 {
		t.Fatalf("Read = %d records, %v", len(recs), err)
	}
	j, err = Open(path, newTicking())
	if err != nil {
		t.Fatal(err)
	}
	mustAppend(t, j, Record{Type: RunStarted})
	j.Close()
	if recs, err := Read(path); err != nil || len(recs) != 1 || recs[0].Run != "r0" {
		t.Errorf("Read = %+v, %v", recs, err)
	}
}

func FuzzParse(f *testing.F) {
	var buf bytes.Buffer
	m := &memFile{}
	j := New(m, "fz", newTicking())
	for _, r := range runRecords {
		if err := j.Append(r); err != nil {
			f.Fatal(err)
		}
	}
	j.Close()
	buf.Write(m.bytes())
	f.Add(buf.Bytes())
	f.Add([]byte("{}\n"))
	f.Add([]byte(`{"seq":1,"type":"run_started","run":"x","prev":""}` + "\n{"))
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, err := Parse(data)
		lines := bytes.Count(data, []byte{'\n'})
		var ce *ChainError
		var tt *TornTailError
		switch {
		case err == nil:
			if len(recs) != lines || (len(data) > 0 && data[len(data)-1] != '\n') {
				t.Fatalf("intact parse of %d lines returned %d records", lines, len(recs))
			}
		case errors.As(err, &ce):
			if len(recs) != ce.Line-1 {
				t.Fatalf("broken at line %d but %d records", ce.Line, len(recs))
			}
		case errors.As(err, &tt):
			if len(recs) != lines || tt.Offset+int64(tt.Bytes) != int64(len(data)) {
				t.Fatalf("torn tail %+v with %d records of %d bytes", tt, len(recs), len(data))
			}
		default:
			t.Fatalf("unexpected error %v", err)
		}
	})
}

// TestHeadAnchor: the chain cannot show an edit of the last record (nothing
// follows it), but the head hash kept from the apply does.
func TestHeadAnchor(t *testing.T) {
	dir := t.TempDir()
	j, err := Create(dir, "r1", newTicking())
	if err != nil {
		t.Fatal(err)
	}
	mustAppend(t, j, runRecords...)
	mustAppend(t, j, Record{Type: RunEnded, Status: Failed})
	_, anchor := j.Head()
	j.Close()
	path := filepath.Join(dir, "r1.jsonl")
	run, err := Load(path)
	if err != nil || run.Head != anchor {
		t.Fatalf("untouched journal: head %s, %v; want %s", run.Head, err, anchor)
	}
	data, _ := os.ReadFile(path)
	os.WriteFile(path, bytes.Replace(data, []byte(`"status":"failed"`), []byte(`"status":"succeeded"`), 1), 0o600)
	run, err = Load(path)
	if err != nil {
		t.Fatalf("an edited last record breaks no link, yet Load failed: %v", err)
	}
	if run.Status != RunSucceeded || run.Head == anchor {
		t.Errorf("edited last record: status %s, head unchanged = %v; want the head to differ from the anchor", run.Status, run.Head == anchor)
	}
}

// failingAppend is a journal file whose truncation or sync fails.
type failingAppend struct {
	*os.File
	truncErr, syncErr error
}

func (f failingAppend) Truncate(size int64) error {
	if f.truncErr != nil {
		return f.truncErr
	}
	return f.File.Truncate(size)
}

func (f failingAppend) Sync() error {
	if f.syncErr != nil {
		return f.syncErr
	}
	return f.File.Sync()
}

// When the torn last line cannot be cut off (or the cut not synced), Open
// fails: appending after the torn bytes would break the chain.
func TestOpenTornTailRepairFails(t *testing.T) {
	boom := errors.New("disk says no")
	for name, f := range map[string]failingAppend{
		"truncate": {truncErr: boom},
		"sync":     {syncErr: boom},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path, _ := writeRun(t, dir, "r1")
			tail, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			tail.WriteString(`{"seq":9,"ti`)
			tail.Close()
			defer func(orig func(string) (appendFile, error)) { openAppend = orig }(openAppend)
			openAppend = func(path string) (appendFile, error) {
				file, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND, 0)
				f.File = file
				return f, err
			}
			j, err := Open(path, newTicking())
			if !errors.Is(err, boom) {
				if j != nil {
					j.Close()
				}
				t.Fatalf("Open error = %v, want %v", err, boom)
			}
		})
	}
}
