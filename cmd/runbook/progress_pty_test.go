//go:build linux

package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal of cols columns and returns its master
// and slave ends.
func openPTY(t *testing.T, cols uint16) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		m.Close()
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		m.Close()
		t.Fatal(err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		m.Close()
		t.Fatal(err)
	}
	if err := unix.IoctlSetWinsize(int(s.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 24, Col: cols}); err != nil {
		t.Fatal(err)
	}
	return m, s
}

// TestLiveStatusFitsTerminal applies part of runbooks/stamp (the Event Hubs
// rotation while the SQL certificate is imported: two steps at a time) with
// stdout on a terminal of 40 columns, and
// replays what a terminal would show: every line that is redrawn in place
// fits the width, so no redraw leaves a stale copy behind.
func TestLiveStatusFitsTerminal(t *testing.T) {
	const cols = 40
	master, slave := openPTY(t, cols)
	defer master.Close()
	var screen bytes.Buffer
	done := make(chan struct{})
	go func() {
		io.Copy(&screen, master) // ends with EIO once the slave is closed
		close(done)
	}()

	dir := t.TempDir()
	copyDir(t, filepath.Join("..", "..", "runbooks", "stamp"), dir)
	var stderr bytes.Buffer
	e := &env{
		args:  []string{"apply", "-simulate", "-auto-approve", "-ignore-window", "terminal test", "-target", "step.eventhub", "-target", "step.sql_cert", dir},
		stdin: strings.NewReader(""), stdout: slave, stderr: &stderr,
		environ: []string{
			"RUNBOOK_SIM_PAUSE=1ms", "NO_COLOR=1",
			"RUNBOOK_VAR_pfx_password=Pty-Pfx-Passw0rd", "RUNBOOK_VAR_client_secret=x",
			"RUNBOOK_VAR_bmc_password=Pty-Bmc-1", "RUNBOOK_VAR_pep_password=x",
		},
		stdoutTTY: true,
		width:     func() int { return terminalWidth(slave) },
		ctx:       context.Background(),
	}
	code := run(e)
	slave.Close()
	<-done
	if code != exitOK {
		t.Fatalf("apply exited %d\nstderr:\n%s\nscreen:\n%s", code, stderr.String(), screen.String())
	}

	redraws, cut := 0, 0
	for i, line := range terminalLines(screen.String()) {
		if line.redrawn {
			redraws++
			if strings.HasSuffix(line.text, "…") {
				cut++
			}
			if n := columns(line.text); n >= cols {
				t.Errorf("redrawn line %d takes %d columns of %d: %q", i, n, cols, line.text)
			}
		}
	}
	if redraws < 3 || cut == 0 {
		t.Fatalf("%d status lines drawn, %d of them cut to the width: the test saw no live status worth the name\n%s", redraws, cut, screen.String())
	}
}

// terminalLine is what one line of a terminal held before the cursor left
// it: redrawn if a carriage return (not a newline) came back to it.
type terminalLine struct {
	text    string
	redrawn bool
}

// terminalLines replays output as a terminal would: "\r\n" and "\n" end a
// line; a lone "\r" returns to its start, to be redrawn; ESC [ K erases to
// its end; other escape sequences (colours) take no room.
func terminalLines(out string) []terminalLine {
	var lines []terminalLine
	var cur []rune
	col := 0
	rs := []rune(out)
	for i := 0; i < len(rs); i++ {
		switch r := rs[i]; {
		case r == '\r' && i+1 < len(rs) && rs[i+1] == '\n':
			// the line discipline's newline; handled at '\n'
		case r == '\n':
			lines = append(lines, terminalLine{text: string(cur)})
			cur, col = nil, 0
		case r == '\r':
			lines = append(lines, terminalLine{text: string(cur), redrawn: true})
			col = 0
		case r == 0x1b && i+1 < len(rs) && rs[i+1] == '[':
			j := i + 2
			for j < len(rs) && (rs[j] < 0x40 || rs[j] > 0x7e) {
				j++
			}
			if j < len(rs) && rs[j] == 'K' {
				cur = cur[:col]
			}
			i = j
		default:
			if col < len(cur) {
				cur[col] = r
			} else {
				cur = append(cur, r)
			}
			col++
		}
	}
	return lines
}

// copyDir copies the files of src (not its subdirectories) into dst.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, en := range entries {
		if en.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, en.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, en.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
