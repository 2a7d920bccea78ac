package wsman

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/runbook-dev/runbook/clock"
)

// exitTerminated is the exit code of a command killed by a signal
// (STATUS_CONTROL_C_EXIT as a signed 32-bit number).
const exitTerminated = -1073741510

// CmdShell is a tiny cmd.exe served under CmdResourceURI, enough to drive the
// unmodified masterzen/winrm client end to end. It understands:
//
//	echo TEXT            TEXT on stdout ("echo TEXT 1>&2": on stderr)
//	more | type [con]    copies stdin to stdout until the end of input
//	timeout /t N         waits N seconds on the clock (until signalled)
//	exit [/b] N          ends with exit code N
//
// with an optional leading "cmd /c". Anything else prints cmd.exe's "is not
// recognized" message on stderr and exits with 1.
type CmdShell struct {
	clk clock.Clock

	mu     sync.Mutex
	shells map[string]map[string]*cmdProc // ShellId → CommandId → process
}

// NewCmdShell returns a cmd shell handler waiting on clk.
func NewCmdShell(clk clock.Clock) *CmdShell {
	return &CmdShell{clk: clk, shells: map[string]map[string]*cmdProc{}}
}

var _ ShellHandler = (*CmdShell)(nil)

// Create opens an empty shell.
func (c *CmdShell) Create(_ context.Context, req *CreateRequest) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.shells[strings.ToUpper(req.ShellID)] = map[string]*cmdProc{}
	return nil
}

// Command starts the command line in the background.
func (c *CmdShell) Command(_ context.Context, req *CommandRequest) error {
	line := strings.TrimSpace(strings.Join(append([]string{req.Command}, req.Arguments...), " "))
	ctx, cancel := context.WithCancel(context.Background())
	p := &cmdProc{changed: make(chan struct{}), cancel: cancel}
	c.mu.Lock()
	procs := c.shells[strings.ToUpper(req.ShellID)]
	if procs == nil {
		c.mu.Unlock()
		cancel()
		return InvalidSelectorsFault("No shell with id " + req.ShellID + ".")
	}
	procs[strings.ToUpper(req.CommandID)] = p
	c.mu.Unlock()
	go func() { p.finish(c.run(ctx, p, line)) }()
	return nil
}

func (c *CmdShell) proc(shellID, commandID string) (*cmdProc, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.shells[strings.ToUpper(shellID)][strings.ToUpper(commandID)]
	if p == nil {
		return nil, InvalidSelectorsFault("No command with id " + commandID + ".")
	}
	return p, nil
}

// Send appends to a command's stdin.
func (c *CmdShell) Send(_ context.Context, req *SendRequest) error {
	for _, st := range req.Streams {
		p, err := c.proc(req.ShellID, st.CommandID)
		if err != nil {
			return err
		}
		p.input(st.Data, st.End)
	}
	return nil
}

// Receive long-polls for output; the final output comes with Done.
func (c *CmdShell) Receive(ctx context.Context, req *ReceiveRequest) (*ReceiveResponse, error) {
	p, err := c.proc(req.ShellID, req.CommandID)
	if err != nil {
		return nil, err
	}
	for {
		p.mu.Lock()
		if len(p.stdout)+len(p.stderr) > 0 || p.done {
			resp := p.take(req.MaxData)
			p.mu.Unlock()
			return resp, nil
		}
		ch := p.changed
		p.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		}
	}
}

// Signal terminates a running command (a finished one keeps its exit
// code); terminate also forgets it, so that its id may be used again.
func (c *CmdShell) Signal(_ context.Context, req *SignalRequest) error {
	p, err := c.proc(req.ShellID, req.CommandID)
	if err != nil {
		return err
	}
	p.finish(exitTerminated)
	p.cancel()
	if req.Code == SignalTerminate {
		c.mu.Lock()
		delete(c.shells[strings.ToUpper(req.ShellID)], strings.ToUpper(req.CommandID))
		c.mu.Unlock()
	}
	return nil
}

// Delete terminates every command of the shell and forgets it.
func (c *CmdShell) Delete(_ context.Context, req *DeleteRequest) error {
	c.mu.Lock()
	procs := c.shells[strings.ToUpper(req.ShellID)]
	delete(c.shells, strings.ToUpper(req.ShellID))
	c.mu.Unlock()
	for _, p := range procs {
		p.finish(exitTerminated)
		p.cancel()
	}
	return nil
}

// run interprets one command line and returns its exit code.
func (c *CmdShell) run(ctx context.Context, p *cmdProc, line string) int {
	line = stripCmdC(line)
	name, rest, _ := strings.Cut(line, " ")
	rest = strings.TrimSpace(rest)
	switch strings.ToLower(name) {
	case "echo":
		stream := "stdout"
		for _, redir := range []string{"1>&2", ">&2"} {
			if strings.HasSuffix(rest, redir) {
				stream, rest = "stderr", strings.TrimSpace(strings.TrimSuffix(rest, redir))
				break
			}
		}
		p.output(stream, []byte(rest+"\r\n"))
		return 0
	case "echo.":
		p.output("stdout", []byte("\r\n"))
		return 0
	case "more", "type":
		switch {
		case strings.EqualFold(rest, "con") || rest == "" && strings.EqualFold(name, "more"):
		case rest == "":
			p.output("stderr", []byte("The syntax of the command is incorrect.\r\n"))
			return 1
		case strings.EqualFold(name, "more"):
			// This shell has no files.
			p.output("stderr", []byte("Cannot access file "+rest+"\r\n"))
			return 1
		default:
			p.output("stderr", []byte("The system cannot find the file specified.\r\n"))
			return 1
		}
		for {
			data, eof, err := p.readInput(ctx)
			if err != nil {
				return exitTerminated
			}
			if len(data) > 0 {
				p.output("stdout", data)
			}
			if eof {
				return 0
			}
		}
	case "exit":
		rest = strings.TrimSpace(strings.TrimPrefix(strings.ToLower(rest), "/b"))
		if rest == "" {
			return 0
		}
		n, err := strconv.Atoi(rest)
		if err != nil {
			return 255
		}
		return n
	case "timeout":
		f := strings.Fields(strings.ToLower(rest))
		if len(f) >= 2 && f[0] == "/t" {
			if n, err := strconv.Atoi(f[1]); err == nil && n >= 0 {
				if err := c.clk.Sleep(ctx, time.Duration(n)*time.Second); err != nil {
					return exitTerminated
				}
				return 0
			}
		}
		p.output("stderr", []byte("ERROR: Invalid syntax.\r\n"))
		return 1
	}
	p.output("stderr", []byte("'"+name+"' is not recognized as an internal or external command,\r\noperable program or batch file.\r\n"))
	return 1
}

// stripCmdC removes leading "cmd /c" (or "cmd.exe /c") wrappers.
func stripCmdC(line string) string {
	for {
		f := strings.Fields(line)
		if len(f) < 2 || !(strings.EqualFold(f[0], "cmd") || strings.EqualFold(f[0], "cmd.exe")) || !strings.EqualFold(f[1], "/c") {
			return line
		}
		i := strings.Index(strings.ToLower(line), "/c")
		line = strings.TrimSpace(line[i+2:])
	}
}
