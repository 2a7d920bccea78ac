package wsman

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/bodgit/ntlmssp"
)

// maxReply bounds a reply body; MaxEnvelopeSize is far below it.
const maxReply = 64 << 20

// errIdleClosed means the server closed the connection while it was idle:
// nothing was sent on it, so the next request may redial.
var errIdleClosed = errors.New("connection closed by the server while idle")

// reply is a response read off the connection, body included.
type reply struct {
	status int
	header http.Header
	body   []byte
	close  bool
}

// conn is one HTTP/1.1 connection, owned by the transport: requests are
// written one at a time, and a reader goroutine reads replies. While the
// connection is idle the reader notices the server closing it, so a stale
// connection is redialled before a request is written rather than failing
// one. Cancelling a request closes the connection, which unblocks both
// directions at once without any I/O deadline.
type conn struct {
	nc       net.Conn
	replies  chan reply
	dead     chan struct{} // closed when the reader stops
	inflight atomic.Bool
	broken   atomic.Bool // set by stop, before the reader has noticed

	mu  sync.Mutex
	err error // why the reader stopped

	// NTLM state, touched only under the transport's lock.
	authed  bool
	session *ntlmssp.SecuritySession
	cbt     *ntlmssp.ChannelBindings
}

func newConn(nc net.Conn) *conn {
	c := &conn{nc: nc, replies: make(chan reply, 1), dead: make(chan struct{})}
	go c.readLoop()
	return c
}

func (c *conn) readLoop() {
	defer close(c.dead)
	br := bufio.NewReader(c.nc)
	for {
		if _, err := br.Peek(1); err != nil {
			if !c.inflight.Load() {
				err = errIdleClosed
			}
			c.stop(err)
			return
		}
		if !c.inflight.Load() {
			c.stop(errors.New("server sent data without a request"))
			return
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			c.stop(fmt.Errorf("read reply: %w", err))
			return
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxReply+1))
		resp.Body.Close()
		if err == nil && len(body) > maxReply {
			err = fmt.Errorf("reply larger than %d bytes", maxReply)
		}
		if err != nil {
			c.stop(fmt.Errorf("read reply body: %w", err))
			return
		}
		c.inflight.Store(false)
		c.replies <- reply{status: resp.StatusCode, header: resp.Header, body: body, close: resp.Close}
		if resp.Close {
			c.stop(errors.New("server closed the connection"))
			return
		}
	}
}

func (c *conn) stop(err error) {
	c.broken.Store(true)
	c.mu.Lock()
	if c.err == nil {
		c.err = err
	}
	c.mu.Unlock()
	c.nc.Close()
}

// isDead reports whether the connection can no longer be used.
func (c *conn) isDead() bool {
	if c.broken.Load() {
		return true
	}
	select {
	case <-c.dead:
		return true
	default:
		return false
	}
}

func (c *conn) close() { c.stop(errors.New("closed")) }

// roundTrip writes req and waits for its reply, or for ctx to end (which
// closes the connection).
func (c *conn) roundTrip(ctx context.Context, req *http.Request) (reply, error) {
	if c.isDead() {
		return reply{}, c.reason()
	}
	var buf bytes.Buffer
	if err := req.Write(&buf); err != nil {
		return reply{}, err
	}
	stop := context.AfterFunc(ctx, c.close)
	defer stop()
	c.inflight.Store(true)
	if _, err := c.nc.Write(buf.Bytes()); err != nil {
		c.stop(fmt.Errorf("write request: %w", err))
		return reply{}, c.fail(ctx)
	}
	var r reply
	select {
	case r = <-c.replies:
	case <-c.dead:
		select {
		case r = <-c.replies:
		default:
			return reply{}, c.fail(ctx)
		}
	}
	// A reply that raced with cancellation is the server's reaction to the
	// connection closing (TLS sends close_notify first), not an answer.
	if err := ctx.Err(); err != nil {
		return reply{}, err
	}
	return r, nil
}

// fail returns why a round trip failed: the context's error if it ended,
// else the reader's.
func (c *conn) fail(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return c.reason()
}

func (c *conn) reason() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		return errors.New("connection closed")
	}
	return c.err
}
