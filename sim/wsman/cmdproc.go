package wsman

import (
	"context"
	"sync"
)

// cmdProc is one running command of a CmdShell: buffered stdin, stdout and
// stderr, and its exit state. changed is closed (and replaced) on every
// change so that waiters wake up.
type cmdProc struct {
	cancel context.CancelFunc

	mu             sync.Mutex
	changed        chan struct{}
	stdin          []byte
	stdinEOF       bool
	stdout, stderr []byte
	done           bool
	exit           int
}

// notify wakes waiters; p.mu must be held.
func (p *cmdProc) notify() {
	close(p.changed)
	p.changed = make(chan struct{})
}

func (p *cmdProc) finish(code int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done {
		return
	}
	p.done, p.exit = true, code
	p.notify()
}

func (p *cmdProc) output(stream string, data []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done {
		return
	}
	if stream == "stderr" {
		p.stderr = append(p.stderr, data...)
	} else {
		p.stdout = append(p.stdout, data...)
	}
	p.notify()
}

func (p *cmdProc) input(data []byte, eof bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stdinEOF {
		return
	}
	p.stdin = append(p.stdin, data...)
	p.stdinEOF = eof
	p.notify()
}

// readInput waits for stdin data or its end.
func (p *cmdProc) readInput(ctx context.Context) ([]byte, bool, error) {
	for {
		p.mu.Lock()
		if len(p.stdin) > 0 || p.stdinEOF {
			data, eof := p.stdin, p.stdinEOF
			p.stdin = nil
			p.mu.Unlock()
			return data, eof, nil
		}
		ch := p.changed
		p.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, false, ctx.Err()
		}
	}
}

// take removes up to max bytes of output for a Receive reply; once the
// command is done and drained the reply carries Done and the exit code.
// p.mu must be held.
func (p *cmdProc) take(max int) *ReceiveResponse {
	resp := &ReceiveResponse{State: StateRunning}
	for _, st := range []struct {
		name string
		buf  *[]byte
	}{{"stdout", &p.stdout}, {"stderr", &p.stderr}} {
		n := min(len(*st.buf), max)
		if n > 0 {
			resp.Streams = append(resp.Streams, Stream{Name: st.name, Data: append([]byte(nil), (*st.buf)[:n]...)})
			*st.buf = (*st.buf)[n:]
			max -= n
		}
	}
	if p.done && len(p.stdout)+len(p.stderr) == 0 {
		resp.State, resp.ExitCode = StateDone, p.exit
		resp.Streams = append(resp.Streams, Stream{Name: "stdout", End: true}, Stream{Name: "stderr", End: true})
	}
	return resp
}
