// Package azuritetest runs Azurite, the Azure Storage emulator, for tests
// that keep runbook state in blob storage.
//
// Azurite is an npm package. .ci/run installs the pinned version from
// .ci/azurite/package-lock.json into .cache/azurite at the repository root;
// a developer does the same with
//
//	npm ci --prefix .cache/azurite   (after copying .ci/azurite/package*.json there)
//
// or points RUNBOOK_AZURITE at an azurite-blob executable. A test package
// starts one Azurite for all its tests from TestMain with Main, and each
// test takes a fresh container with Container. When the executable is
// missing, Main fails the whole package if CI=true (a CI run must never
// pass by skipping the state tests) and otherwise lets the tests that need
// Azurite skip with a message saying how to install it.
package azuritetest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
)

// Account and Key are Azurite's documented well-known development account
// and its key. They are public and grant access to the emulator only.
const (
	Account = "devstoreaccount1"
	Key     = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// Server is a running Azurite blob service.
type Server struct {
	// Endpoint is the blob service URL of the development account, in
	// Azurite's path style: http://127.0.0.1:PORT/devstoreaccount1.
	Endpoint string
	// Dir is Azurite's data directory (--location): every blob it stores
	// is in files under it.
	Dir string

	cmd  *exec.Cmd
	done chan struct{}
	n    atomic.Int64
}

// listening is Azurite's start-up line, which carries the port it chose.
var listening = regexp.MustCompile(`listens on (http://127\.0\.0\.1:\d+)`)

// Executable finds azurite-blob: $RUNBOOK_AZURITE, then
// .cache/azurite/node_modules/.bin/azurite-blob at the module root, then
// $PATH. It returns "" when there is none.
func Executable() string {
	if p := os.Getenv("RUNBOOK_AZURITE"); p != "" {
		return p
	}
	if root := moduleRoot(); root != "" {
		p := filepath.Join(root, ".cache", "azurite", "node_modules", ".bin", "azurite-blob")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("azurite-blob"); err == nil {
		return p
	}
	return ""
}

func moduleRoot() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// Start runs the azurite-blob executable exe on a free loopback port with
// its data in dir, and returns once it listens (or after 60 s, an error).
func Start(exe, dir string) (*Server, error) {
	cmd := exec.Command(exe, "--blobHost", "127.0.0.1", "--blobPort", "0",
		"--location", dir, "--skipApiVersionCheck", "--disableProductStyleUrl",
		"--disableTelemetry", "--silent")
	cmd.Env = append(os.Environ(), "AZURITE_ACCOUNTS=") // only the well-known account
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	var stderr strings.Builder
	cmd.Stderr = &limited{w: &stderr, n: 4096}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("azurite: %w", err)
	}
	s := &Server{Dir: dir, cmd: cmd, done: make(chan struct{})}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
		io.Copy(io.Discard, out)
	}()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); close(s.done) }()
	select {
	case base := <-found:
		s.Endpoint = base + "/" + Account
		return s, nil
	case err := <-exited:
		return nil, fmt.Errorf("azurite exited before listening (%v): %s", err, stderr.String())
	case <-time.After(60 * time.Second):
		s.Close()
		return nil, fmt.Errorf("azurite did not listen within 60s: %s", stderr.String())
	}
}

// Close stops Azurite and waits for it to exit.
func (s *Server) Close() error {
	if s.cmd.Process == nil {
		return nil
	}
	s.cmd.Process.Kill()
	<-s.done
	return nil
}

// Client returns a service client for the development account.
func (s *Server) Client() (*azblob.Client, error) {
	cred, err := azblob.NewSharedKeyCredential(Account, Key)
	if err != nil {
		return nil, err
	}
	return azblob.NewClientWithSharedKeyCredential(s.Endpoint+"/", cred, nil)
}

// NewContainer creates a container with a name unique on this server,
// derived from hint, and returns its name.
func (s *Server) NewContainer(ctx context.Context, hint string) (string, error) {
	name := containerName(hint, s.n.Add(1))
	c, err := s.Client()
	if err != nil {
		return "", err
	}
	if _, err := c.CreateContainer(ctx, name, nil); err != nil {
		return "", fmt.Errorf("azurite: create container %s: %w", name, err)
	}
	return name, nil
}

// containerName makes a valid container name (3–63 lower-case letters,
// digits and single dashes) from hint and a sequence number.
func containerName(hint string, n int64) string {
	var b strings.Builder
	dash := true
	for _, r := range strings.ToLower(hint) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
			dash = false
		case !dash:
			b.WriteByte('-')
			dash = true
		}
	}
	name := strings.Trim(b.String(), "-")
	suffix := fmt.Sprintf("-%d", n)
	if len(name) > 63-len(suffix) {
		name = strings.TrimRight(name[:63-len(suffix)], "-")
	}
	if name == "" {
		name = "t"
	}
	return name + suffix
}

var (
	mu      sync.Mutex
	shared  *Server
	missing string // why there is no shared server
)

// Main runs the tests of a package with one Azurite shared by all of
// them, and returns the exit code for os.Exit. Call it from TestMain.
func Main(m *testing.M) int {
	exe := Executable()
	if exe == "" {
		missing = "azurite-blob not found: run `mkdir -p .cache/azurite && cp .ci/azurite/package*.json .cache/azurite/ && npm ci --prefix .cache/azurite` at the repository root, or set RUNBOOK_AZURITE"
		if os.Getenv("CI") == "true" {
			fmt.Fprintln(os.Stderr, "FAIL: "+missing+" (CI=true: the state tests must run against Azurite)")
			return 1
		}
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "azurite-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	s, err := Start(exe, dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL:", err)
		return 1
	}
	mu.Lock()
	shared = s
	mu.Unlock()
	defer s.Close()
	return m.Run()
}

// Shared returns the package's Azurite started by Main. Outside CI, when
// Azurite is not installed, it skips the test; a test binary whose
// TestMain does not call Main fails.
func Shared(t testing.TB) *Server {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	switch {
	case shared != nil:
		return shared
	case missing != "":
		t.Skip(missing)
	default:
		t.Fatal("azuritetest: TestMain must call azuritetest.Main")
	}
	return nil
}

// Container returns the shared Azurite and a fresh container for t.
func Container(t testing.TB) (*Server, string) {
	t.Helper()
	s := Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	name, err := s.NewContainer(ctx, t.Name())
	if err != nil {
		t.Fatal(err)
	}
	return s, name
}

// limited keeps the first n bytes written to it.
type limited struct {
	w io.Writer
	n int
}

func (l *limited) Write(p []byte) (int, error) {
	if l.n > 0 {
		k := min(len(p), l.n)
		l.w.Write(p[:k])
		l.n -= k
	}
	return len(p), nil
}

var (
	lazyOnce sync.Once
	lazy     *Server
	lazyErr  error
	lazyDir  string
)

// Lazy returns an Azurite shared by the test binary, started on first use:
// for test binaries whose TestMain cannot use Main (testscript's). The
// binary calls StopLazy when its tests end. When Azurite is not
// installed, the error says how to install it.
func Lazy() (*Server, error) {
	lazyOnce.Do(func() {
		exe := Executable()
		if exe == "" {
			lazyErr = errors.New("azurite-blob not found: run `mkdir -p .cache/azurite && cp .ci/azurite/package*.json .cache/azurite/ && npm ci --prefix .cache/azurite` at the repository root, or set RUNBOOK_AZURITE")
			return
		}
		lazyDir, lazyErr = os.MkdirTemp("", "azurite-")
		if lazyErr == nil {
			lazy, lazyErr = Start(exe, lazyDir)
		}
	})
	return lazy, lazyErr
}

// StopLazy stops the Azurite Lazy started, if any, and removes its data.
func StopLazy() {
	if lazy != nil {
		lazy.Close()
	}
	if lazyDir != "" {
		os.RemoveAll(lazyDir)
	}
}
