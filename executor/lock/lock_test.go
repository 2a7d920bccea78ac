package lock

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var epoch = time.Date(2026, 11, 28, 22, 0, 0, 0, time.UTC)

const (
	hubEast = "hub:https://adminmanagement.east.contoso.com"
	pepA    = "pep:10.0.0.224"
	pepB    = "pep:10.0.0.225"
)

// TestMain doubles as a helper process for the cross-process tests: with
// LOCK_HELPER_DIR set, it locks the targets in LOCK_HELPER_TARGETS, prints
// "locked", and holds the lock until its stdin is closed.
func TestMain(m *testing.M) {
	if dir := os.Getenv("LOCK_HELPER_DIR"); dir != "" {
		l, err := Acquire(dir, strings.Split(os.Getenv("LOCK_HELPER_TARGETS"), ","), CurrentProcess(epoch, "helper-run"))
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		fmt.Println("locked")
		io.Copy(io.Discard, os.Stdin)
		if err := l.Release(); err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func holder(pid int, run string) Holder {
	return Holder{PID: pid, Host: "jump1", User: "ops", Started: epoch, Run: run}
}

func TestAcquireInProcess(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "locks")
	first, err := Acquire(dir, []string{pepA, hubEast, pepA}, holder(100, "r1"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{hubEast, pepA}, first.Targets()); diff != "" {
		t.Errorf("Targets (-want +got):\n%s", diff)
	}

	// pepB is free but hubEast is not: nothing may stay locked.
	_, err = Acquire(dir, []string{pepB, hubEast}, holder(200, "r2"))
	var he *HeldError
	if !errors.As(err, &he) {
		t.Fatalf("second Acquire error = %v, want a *HeldError", err)
	}
	want := &HeldError{Target: hubEast, PID: 100, Host: "jump1", User: "ops", Started: epoch, Run: "r1",
		Path: filepath.Join(dir, fileName(hubEast))}
	if diff := cmp.Diff(want, he); diff != "" {
		t.Errorf("HeldError (-want +got):\n%s", diff)
	}
	wantMsg := hubEast + " is locked by pid 100 on jump1 (user ops) since 2026-11-28T22:00:00Z, run r1; " +
		"wait for that apply to finish (the lock is released when its process exits)"
	if diff := cmp.Diff(wantMsg, err.Error()); diff != "" {
		t.Errorf("message (-want +got):\n%s", diff)
	}
	onlyB, err := Acquire(dir, []string{pepB}, holder(300, "r3"))
	if err != nil {
		t.Fatalf("pepB stayed locked after a refused Acquire: %v", err)
	}
	onlyB.Release()

	if err := first.Release(); err != nil {
		t.Fatal(err)
	}
	if err := first.Release(); err != nil {
		t.Errorf("second Release: %v", err)
	}
	second, err := Acquire(dir, []string{pepB, hubEast}, holder(200, "r2"))
	if err != nil {
		t.Fatalf("Acquire after Release: %v", err)
	}
	defer second.Release()
}

func TestHolderRecord(t *testing.T) {
	dir := filepath.Join(t.TempDir(), ".runbook", "locks")
	l, err := Acquire(dir, []string{hubEast}, holder(100, "r1"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, fileName(hubEast))
	data, _ := os.ReadFile(path)
	want := "\x00" + `{"target":"` + hubEast + `","pid":100,"host":"jump1","user":"ops","started":"2026-11-28T22:00:00Z","run":"r1"}` + "\n"
	if diff := cmp.Diff(want, string(data)); diff != "" {
		t.Errorf("lock file (-want +got):\n%s", diff)
	}
	if runtime.GOOS != "windows" {
		for p, mode := range map[string]os.FileMode{dir: 0o700 | os.ModeDir, path: 0o600} {
			if fi, err := os.Stat(p); err != nil || fi.Mode() != mode {
				t.Errorf("%s: mode %v, %v; want %v", p, fi.Mode(), err, mode)
			}
		}
	}
	l.Release()
	if data, _ := os.ReadFile(path); len(data) != recordOffset {
		t.Errorf("after Release the lock file holds %q, want the record cleared", data)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("Release removed the lock file: %v", err)
	}
}

func TestHeldWithoutRecord(t *testing.T) {
	dir := t.TempDir()
	l, err := Acquire(dir, []string{hubEast}, holder(100, "r1"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	clearHolder(filepath.Join(dir, fileName(hubEast))) // as if read before the holder wrote it
	_, err = Acquire(dir, []string{hubEast}, holder(200, "r2"))
	var he *HeldError
	if !errors.As(err, &he) || he.PID != 0 || !strings.Contains(err.Error(), "locked by another apply") {
		t.Errorf("error = %v, want a HeldError without holder details", err)
	}
}

func TestAcquireNoTargets(t *testing.T) {
	if _, err := Acquire(t.TempDir(), nil, holder(1, "")); err == nil {
		t.Error("Acquire with no targets succeeded")
	}
}

func TestTarget(t *testing.T) {
	tests := map[string]struct{ kind, endpoint, want string }{
		"plain":          {"hub", "https://adminmanagement.east.contoso.com", hubEast},
		"case and slash": {"hub", " HTTPS://AdminManagement.East.Contoso.com/ ", hubEast},
		"pep address":    {"pep", "10.0.0.224", pepA},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := Target(tc.kind, tc.endpoint); got != tc.want {
				t.Errorf("Target = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestCurrentProcess(t *testing.T) {
	h := CurrentProcess(epoch.In(time.FixedZone("CET", 3600)), "r1")
	host, _ := os.Hostname()
	if h.PID != os.Getpid() || h.Host != host || h.Run != "r1" || h.Started.Location() != time.UTC || !h.Started.Equal(epoch) {
		t.Errorf("CurrentProcess = %+v", h)
	}
}

// helper starts a process that locks targets in dir and holds them until
// its stdin is closed.
type helper struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
}

func startHelper(t *testing.T, dir string, targets ...string) *helper {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "LOCK_HELPER_DIR="+dir, "LOCK_HELPER_TARGETS="+strings.Join(targets, ","))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h := &helper{cmd: cmd, stdin: stdin}
	t.Cleanup(func() { stdin.Close(); cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "locked\n" {
		t.Fatalf("helper said %q, %v", line, err)
	}
	return h
}

func TestAcquireAcrossProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	for _, exit := range []string{"release", "crash"} {
		t.Run(exit, func(t *testing.T) {
			dir := t.TempDir()
			h := startHelper(t, dir, hubEast, pepA)
			_, err := Acquire(dir, []string{pepA}, holder(1, "mine"))
			var he *HeldError
			if !errors.As(err, &he) {
				t.Fatalf("Acquire error = %v, want a *HeldError", err)
			}
			host, _ := os.Hostname()
			if he.PID != h.cmd.Process.Pid || he.Host != host || he.Run != "helper-run" || !he.Started.Equal(epoch) {
				t.Errorf("HeldError = %+v, want the helper (pid %d)", he, h.cmd.Process.Pid)
			}
			if exit == "release" {
				h.stdin.Close()
				if err := h.cmd.Wait(); err != nil {
					t.Fatalf("helper: %v", err)
				}
			} else {
				h.cmd.Process.Kill() // the OS must release a dead process's lock
				h.cmd.Wait()
			}
			l, err := Acquire(dir, []string{hubEast, pepA}, holder(1, "mine"))
			if err != nil {
				t.Fatalf("Acquire after the helper exited (%s): %v", exit, err)
			}
			l.Release()
		})
	}
}

func TestSetRun(t *testing.T) {
	dir := t.TempDir()
	l, err := Acquire(dir, []string{hubEast, pepA}, holder(100, "new"))
	if err != nil {
		t.Fatal(err)
	}
	if err := l.SetRun("resumed"); err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{hubEast, pepA} {
		_, err := Acquire(dir, []string{target}, holder(200, "r2"))
		var he *HeldError
		if !errors.As(err, &he) || he.Run != "resumed" || he.PID != 100 || !he.Started.Equal(epoch) {
			t.Errorf("%s: Acquire error = %v, want held by pid 100 for run resumed", target, err)
		}
	}
	l.Release()
	if err := l.SetRun("again"); err == nil {
		t.Error("SetRun after Release succeeded")
	}
}
