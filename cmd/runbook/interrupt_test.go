package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for a command and a test to share.
type syncBuffer struct {
	mu  chan struct{}
	buf bytes.Buffer
}

func newSyncBuffer() *syncBuffer { return &syncBuffer{mu: make(chan struct{}, 1)} }

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu <- struct{}{}
	defer func() { <-b.mu }()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu <- struct{}{}
	defer func() { <-b.mu }()
	return b.buf.String()
}

// copyRunbook copies runbooks/name (its .hcl files) into a new directory.
func copyRunbook(t *testing.T, name string) string {
	t.Helper()
	src := filepath.Join("..", "..", "runbooks", name)
	dst := filepath.Join(t.TempDir(), name)
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(src, "*.hcl"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, filepath.Base(f)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// A signal cancels any command, not only apply: a plan waiting on a PEP that
// takes minutes to answer ends at once with 130 (SIGINT) or 143 (SIGTERM),
// having closed what it opened.
func TestInterruptPlan(t *testing.T) {
	for name, sig := range map[string]os.Signal{"SIGINT": os.Interrupt, "SIGTERM": syscall.SIGTERM} {
		t.Run(name, func(t *testing.T) {
			rb := copyRunbook(t, "bmc")
			logPath := filepath.Join(t.TempDir(), "log")
			signals := make(chan os.Signal, 1)
			stdout, stderr := newSyncBuffer(), newSyncBuffer()
			e := &env{
				args:   []string{"plan", "-simulate", rb},
				stdin:  strings.NewReader(""),
				stdout: stdout, stderr: stderr,
				environ: []string{
					"NO_COLOR=1", "RUNBOOK_VAR_bmc_password=x", "RUNBOOK_VAR_pep_password=x",
					"RUNBOOK_LOG=" + logPath,
					// Every PEP reply takes an hour of the stamp's time, and
					// the stamp's clock waits an hour of wall time before it
					// skips ahead: without the signal the plan would hang.
					"RUNBOOK_SIM_FAULTS=pep:delay:action=Receive:delay=1h:times=-1",
					"RUNBOOK_SIM_PAUSE=1h",
				},
				signals: signals,
				ctx:     context.Background(),
			}
			done := make(chan int, 1)
			go func() { done <- run(e) }()

			deadline := time.Now().Add(30 * time.Second)
			for {
				b, _ := os.ReadFile(logPath)
				if bytes.Contains(b, []byte("wsman round trip")) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the plan never reached the PEP; log:\n%s\nstderr:\n%s", b, stderr)
				}
				time.Sleep(10 * time.Millisecond)
			}
			signals <- sig
			start := time.Now()
			select {
			case code := <-done:
				if want := exitCodeFor(sig); code != want {
					t.Errorf("exit code %d, want %d; stderr:\n%s", code, want, stderr)
				}
				if d := time.Since(start); d > 5*time.Second {
					t.Errorf("the plan took %v to stop", d)
				}
			case <-time.After(15 * time.Second):
				t.Fatalf("the plan did not stop after %v; stdout:\n%s", sig, stdout)
			}
			if strings.Contains(stdout.String(), "will set the BMC password") {
				t.Errorf("the interrupted plan was printed:\n%s", stdout)
			}
		})
	}
}
