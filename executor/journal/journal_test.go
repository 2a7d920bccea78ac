package journal

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/runbook-dev/runbook/clock"
)

// runRecords is a small run: two steps, one with a remote handle.
var runRecords = []Record{
	{Type: RunStarted, PlanID: "plan-7", PlanHash: "sha256:ab12", User: "ops", Host: "jump1", ToolVersion: "0.1.0"},
	{Type: StepIntent, Step: "step.eventhub_cert", Attempt: 1, Action: "import", Fingerprint: "hmac-sha256:3f2a"},
	{Type: StepResult, Step: "step.eventhub_cert", Attempt: 1, Status: Succeeded, Fingerprint: "hmac-sha256:3f2a"},
	{Type: StepIntent, Step: "step.eventhub", Attempt: 1, Action: "rotate"},
	{Type: StepHandle, Step: "step.eventhub", Attempt: 1, Handle: "https://adminmanagement.local/ops/1?api-version=2"},
	{Type: StepProgress, Step: "step.eventhub", Attempt: 1, Percent: 40},
}

func TestRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "journal")
	j, err := Create(dir, "r1", newTicking())
	if err != nil {
		t.Fatal(err)
	}
	mustAppend(t, j, runRecords...)
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "r1.jsonl")
	got, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]Record, len(runRecords))
	for i, r := range runRecords {
		r.Seq, r.Time = uint64(i+1), epoch.Add(time.Duration(i)*time.Second)
		if i == 0 {
			r.Run = "r1"
		}
		want[i] = r
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(Record{}, "Prev")); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
	if got[0].Prev != Genesis("r1") {
		t.Errorf("first Prev = %s, want Genesis(r1)", got[0].Prev)
	}

	data, _ := os.ReadFile(path)
	first := strings.SplitN(string(data), "\n", 2)[0]
	wantFirst := `{"seq":1,"time":"2026-11-28T22:00:00.123456789Z","type":"run_started","run":"r1","plan_id":"plan-7",` +
		`"plan_hash":"sha256:ab12","user":"ops","host":"jump1","tool_version":"0.1.0",` +
		`"prev":"` + Genesis("r1") + `"}`
	if diff := cmp.Diff(wantFirst, first); diff != "" {
		t.Errorf("first line (-want +got):\n%s", diff)
	}

	run, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	wantRun := &Run{
		ID: "r1", Path: path, PlanID: "plan-7", PlanHash: "sha256:ab12", User: "ops", Host: "jump1", ToolVersion: "0.1.0",
		Started: epoch, Status: RunUnfinished, Records: 6, Head: hashLine([]byte(strings.Split(string(data), "\n")[5])),
		Steps: map[string]*Step{
			"step.eventhub_cert": {
				Addr: "step.eventhub_cert", Status: Succeeded, Attempt: 1, Action: "import", Percent: 100,
				Fingerprint: "hmac-sha256:3f2a", Started: epoch.Add(time.Second), Updated: epoch.Add(2 * time.Second),
			},
			"step.eventhub": {
				Addr: "step.eventhub", InFlight: true, Attempt: 1, Action: "rotate", Percent: 40,
				Handle:  "https://adminmanagement.local/ops/1?api-version=2",
				Started: epoch.Add(3 * time.Second), Updated: epoch.Add(5 * time.Second),
			},
		},
	}
	if diff := cmp.Diff(wantRun, run); diff != "" {
		t.Errorf("Load (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"step.eventhub"}, run.InFlight()); diff != "" {
		t.Errorf("InFlight (-want +got):\n%s", diff)
	}
}

// TestResume: a run that crashed with a rotation in flight is reopened,
// resumed and finished; the chain continues across the two processes.
func TestResume(t *testing.T) {
	dir := t.TempDir()
	clk := newTicking()
	j, err := Create(dir, "r2", clk)
	if err != nil {
		t.Fatal(err)
	}
	mustAppend(t, j, runRecords...)
	seq, head := j.Head()
	j.Close()

	path := filepath.Join(dir, "r2.jsonl")
	j, err = Open(path, clk)
	if err != nil {
		t.Fatal(err)
	}
	if s, h := j.Head(); s != seq || h != head {
		t.Errorf("reopened head = %d %s, want %d %s", s, h, seq, head)
	}
	mustAppend(t, j,
		Record{Type: RunResumed, PlanID: "plan-7", User: "ops2", Host: "jump2", Reason: "re-attach to step.eventhub"},
		Record{Type: StepProgress, Step: "step.eventhub", Attempt: 1, Percent: 90},
		Record{Type: StepResult, Step: "step.eventhub", Attempt: 1, Status: Succeeded},
		Record{Type: RunEnded, Status: Succeeded},
	)
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	run, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	type view struct {
		Status   RunStatus
		Resumes  int
		Records  int
		InFlight []string
		Rotate   Status
		Handle   string
	}
	got := view{run.Status, run.Resumes, run.Records, run.InFlight(), run.Steps["step.eventhub"].Status, run.Steps["step.eventhub"].Handle}
	want := view{RunSucceeded, 1, 10, nil, Succeeded, "https://adminmanagement.local/ops/1?api-version=2"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("resumed run (-want +got):\n%s", diff)
	}
}

func TestAppendInvalid(t *testing.T) {
	tests := map[string]Record{
		"unknown type":             {Type: "step_done", Step: "step.a"},
		"second run_started":       {Type: RunStarted},
		"step record without step": {Type: StepIntent},
		"run record with step":     {Type: RunEnded, Step: "step.a", Status: Succeeded},
		"handle without handle":    {Type: StepHandle, Step: "step.a"},
		"percent out of range":     {Type: StepProgress, Step: "step.a", Percent: 101},
		"result without status":    {Type: StepResult, Step: "step.a"},
		"result stopped":           {Type: StepResult, Step: "step.a", Status: Stopped},
		"run ended skipped":        {Type: RunEnded, Status: Skipped},
		"empty note":               {Type: Note},
	}
	m := &memFile{}
	j := New(m, "r3", newTicking())
	defer j.Close()
	if err := j.Append(Record{Type: StepIntent, Step: "step.a"}); !errors.Is(err, ErrInvalidRecord) {
		t.Errorf("step record first: err = %v, want ErrInvalidRecord", err)
	}
	if err := j.Append(Record{Type: RunStarted, Run: "other"}); !errors.Is(err, ErrInvalidRecord) {
		t.Errorf("run_started for another run: err = %v, want ErrInvalidRecord", err)
	}
	mustAppend(t, j, Record{Type: RunStarted})
	for name, rec := range tests {
		t.Run(name, func(t *testing.T) {
			if err := j.Append(rec); !errors.Is(err, ErrInvalidRecord) {
				t.Errorf("err = %v, want ErrInvalidRecord", err)
			}
		})
	}
	mustAppend(t, j, Record{Type: Note, Step: "step.a", Reason: "operator paused"})
	recs, err := Parse(m.bytes())
	if err != nil || len(recs) != 2 {
		t.Errorf("after invalid appends: %d records, %v; want 2 and an intact chain", len(recs), err)
	}
}

func TestCreateModes(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows has no Unix permission bits")
	}
	dir := filepath.Join(t.TempDir(), ".runbook", "journal")
	j, err := Create(dir, "r4", newTicking())
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	for path, want := range map[string]os.FileMode{dir: 0o700 | os.ModeDir, filepath.Join(dir, "r4.jsonl"): 0o600} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != want {
			t.Errorf("%s: mode %v, want %v", path, fi.Mode(), want)
		}
	}
	if _, err := Create(dir, "r4", newTicking()); !errors.Is(err, os.ErrExist) {
		t.Errorf("second Create of r4: err = %v, want ErrExist", err)
	}
	for _, bad := range []string{"", "../x", "a/b", ".hidden", strings.Repeat("x", 129)} {
		if _, err := Create(dir, bad, newTicking()); err == nil {
			t.Errorf("Create accepted run id %q", bad)
		}
	}
}

func TestAppendAfterClose(t *testing.T) {
	j := New(&memFile{}, "r5", newTicking())
	mustAppend(t, j, Record{Type: RunStarted})
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if err := j.Append(Record{Type: Note, Reason: "late"}); !errors.Is(err, ErrClosed) {
		t.Errorf("Append after Close: %v, want ErrClosed", err)
	}
}

// TestRecordHasNoFreeFormFields guards the no-secrets design: a Record has
// only typed scalar fields, so there is nowhere to put a map of a step's
// inputs. Adding a map, slice, interface or raw JSON field fails this test.
// The one exception is Result, which holds only the keys a step type
// declared safe (the executor drops any other; see executor's
// TestApplyJournalsDeclaredResultKeys).
func TestRecordHasNoFreeFormFields(t *testing.T) {
	rt := reflect.TypeFor[Record]()
	for i := range rt.NumField() {
		f := rt.Field(i)
		if f.Name == "Result" && f.Type == reflect.TypeFor[map[string]string]() {
			continue
		}
		switch f.Type.Kind() {
		case reflect.String, reflect.Int, reflect.Uint64:
		default:
			if f.Type != reflect.TypeFor[time.Time]() {
				t.Errorf("Record.%s has type %s: only strings, integers and the time are allowed", f.Name, f.Type)
			}
		}
	}
}

func TestQueueIsDurableAfterNextAppend(t *testing.T) {
	dir := t.TempDir()
	j, err := Create(dir, "q", clock.Real)
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Append(Record{Type: RunStarted}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 50; i++ {
		if err := j.Queue(Record{Type: StepResult, Step: "step.a", Status: Succeeded}); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.Append(Record{Type: Note, Reason: "after"}); err != nil {
		t.Fatal(err)
	}
	// Without closing: everything queued before the Append is on disk.
	recs, err := Read(filepath.Join(dir, "q.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 52 {
		t.Fatalf("%d records on disk, want 52", len(recs))
	}
	j.Close()
}
