package wsman_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/runbook-dev/runbook/clock"
	simwsman "github.com/runbook-dev/runbook/sim/wsman"
	"github.com/runbook-dev/runbook/wsman"
)

// recorder is a ShellHandler test double: it records a summary of every
// call and answers Receive with ReceiveFn.
type recorder struct {
	mu        sync.Mutex
	calls     []string
	ReceiveFn func(ctx context.Context, req *simwsman.ReceiveRequest) (*simwsman.ReceiveResponse, error)
}

var _ simwsman.ShellHandler = (*recorder)(nil)

func (r *recorder) add(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, fmt.Sprintf(format, args...))
}

func (r *recorder) Create(_ context.Context, req *simwsman.CreateRequest) error {
	v, _ := req.Option("protocolversion")
	r.add("create %s uri=%s in=%v out=%v creationXml=%q protocolversion=%s mustComply=%v user=%s",
		req.ShellID, req.ResourceURI, req.InputStreams, req.OutputStreams, req.CreationXML, v, req.Options[0].MustComply, req.User)
	return nil
}

func (r *recorder) Command(_ context.Context, req *simwsman.CommandRequest) error {
	data, err := req.ArgumentData()
	r.add("command %s shell=%s command=%q args=%q err=%v", req.CommandID, req.ShellID, req.Command, data, err)
	return nil
}

func (r *recorder) Send(_ context.Context, req *simwsman.SendRequest) error {
	for _, st := range req.Streams {
		r.add("send %s command=%q data=%q end=%v", st.Name, st.CommandID, st.Data, st.End)
	}
	return nil
}

func (r *recorder) Receive(ctx context.Context, req *simwsman.ReceiveRequest) (*simwsman.ReceiveResponse, error) {
	keepAlive, _ := req.Option(wsman.OptionKeepAlive)
	r.add("receive command=%q streams=%v keepalive=%s", req.CommandID, req.Streams, keepAlive)
	return r.ReceiveFn(ctx, req)
}

func (r *recorder) Signal(_ context.Context, req *simwsman.SignalRequest) error {
	r.add("signal %s code=%s", req.CommandID, req.Code)
	return nil
}

func (r *recorder) Delete(_ context.Context, req *simwsman.DeleteRequest) error {
	r.add("delete %s", req.ShellID)
	return nil
}

// TestShellHandlerPlugIn drives a handler registered for a PowerShell
// ResourceURI through the runbook client the way PowerShell remoting does:
// client-chosen ids, creationXml, a MustComply option, shell-level Send and
// Receive, base64 arguments, the ctrl_c signal.
func TestShellHandlerPlugIn(t *testing.T) {
	const uri = "http://schemas.microsoft.com/powershell/PrivilegedEndpoint"
	s := newServer(t, simwsman.Config{Auth: simwsman.AuthNegotiate, Sealing: simwsman.SealRequired})
	rec := &recorder{ReceiveFn: func(_ context.Context, req *simwsman.ReceiveRequest) (*simwsman.ReceiveResponse, error) {
		if req.CommandID == "" {
			return &simwsman.ReceiveResponse{Streams: []simwsman.Stream{{Name: "stdout", Data: []byte("pool output")}}}, nil
		}
		return &simwsman.ReceiveResponse{Streams: []simwsman.Stream{{Name: "stdout", Data: []byte("pipeline output")}}, State: simwsman.StateDone}, nil
	}}
	s.Handle(uri, rec)
	ctx := testContext(t)
	c, err := wsman.New(ctx, wsman.Config{Host: s.Host(), Port: s.Port(), Username: user, Password: password})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	const shellID, commandID = "9A3A1D4E-8F3C-4C7B-A2B4-0E7F2C8D1A55", "0B6E5C52-4F0F-4E3A-9D3B-6C1C0E7A2F10"
	sh, err := c.CreateShell(ctx, wsman.ShellOptions{
		ResourceURI: wsman.PowerShellResourceURI("PrivilegedEndpoint"), ShellID: shellID,
		InputStreams: []string{"stdin", "pr"}, OutputStreams: []string{"stdout"},
		Options:     []wsman.Option{{Name: "protocolversion", Value: "2.3", MustComply: true}},
		CreationXML: []byte("\x00\x01capability"),
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := sh.Receive(ctx, "", "stdout")
	if err != nil || string(got.Streams[0].Data) != "pool output" || got.State != "" {
		t.Fatalf("pool receive = %+v, %v", got, err)
	}
	if err := sh.Send(ctx, "", "stdin", []byte("PUBLIC_KEY"), false); err != nil {
		t.Fatal(err)
	}
	id, err := sh.Command(ctx, wsman.CommandOptions{CommandID: commandID, Arguments: []string{base64.StdEncoding.EncodeToString([]byte("CREATE_PIPELINE"))}})
	if err != nil || id != commandID {
		t.Fatalf("command = %q, %v", id, err)
	}
	got, err = sh.Receive(ctx, commandID, "stdout")
	if err != nil || !got.Done() || string(got.Streams[0].Data) != "pipeline output" {
		t.Fatalf("pipeline receive = %+v, %v", got, err)
	}
	if err := sh.Signal(ctx, commandID, wsman.SignalCtrlC); err != nil {
		t.Fatal(err)
	}
	if err := sh.Delete(ctx); err != nil {
		t.Fatal(err)
	}
	want := []string{
		`create ` + shellID + ` uri=` + uri + ` in=[stdin pr] out=[stdout] creationXml="\x00\x01capability" protocolversion=2.3 mustComply=true user=AZURESTACK\CloudAdmin`,
		`receive command="" streams=[stdout] keepalive=True`,
		`send stdin command="" data="PUBLIC_KEY" end=false`,
		`command ` + commandID + ` shell=` + shellID + ` command="" args=["CREATE_PIPELINE"] err=<nil>`,
		`receive command="` + commandID + `" streams=[stdout] keepalive=True`,
		`signal ` + commandID + ` code=` + wsman.SignalCtrlC,
		`delete ` + shellID,
	}
	if diff := cmp.Diff(want, rec.calls); diff != "" {
		t.Errorf("handler calls mismatch (-want +got):\n%s", diff)
	}
	// The shell is gone; the URI nobody serves is refused.
	if err := sh.Delete(ctx); !isFault(err, "w:InvalidSelectors") {
		t.Errorf("second delete: %v", err)
	}
	_, err = c.CreateShell(ctx, wsman.ShellOptions{ResourceURI: wsman.PowerShellResourceURI("Microsoft.PowerShell")})
	if !isFault(err, "w:DestinationUnreachable") {
		t.Errorf("create on an unserved URI: %v", err)
	}
}

// TestHandlerErrors checks how handler errors reach the client: a *Fault
// as it is, anything else as w:InternalError, a Receive that gives up when
// its poll window closes as w:TimedOut.
func TestHandlerErrors(t *testing.T) {
	const uri = "http://schemas.microsoft.com/powershell/Test"
	tests := map[string]struct {
		receive func(ctx context.Context) (*simwsman.ReceiveResponse, error)
		want    string
		advance bool // move the fake clock past the poll window
	}{
		"fault":            {receive: func(context.Context) (*simwsman.ReceiveResponse, error) { return nil, simwsman.QuotaLimitFault(1) }, want: "w:QuotaLimit"},
		"plain error":      {receive: func(context.Context) (*simwsman.ReceiveResponse, error) { return nil, errors.New("boom") }, want: "w:InternalError"},
		"poll window":      {receive: func(ctx context.Context) (*simwsman.ReceiveResponse, error) { <-ctx.Done(); return nil, ctx.Err() }, want: "w:TimedOut", advance: true},
		"asks for timeout": {receive: func(context.Context) (*simwsman.ReceiveResponse, error) { return nil, simwsman.ErrOperationTimeout }, want: "w:TimedOut"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			clk := clock.NewFake(epoch)
			s := newServer(t, simwsman.Config{Auth: simwsman.AuthBasic, Clock: clk})
			s.Handle(uri, &recorder{ReceiveFn: func(ctx context.Context, _ *simwsman.ReceiveRequest) (*simwsman.ReceiveResponse, error) {
				return tc.receive(ctx)
			}})
			ctx := testContext(t)
			c, err := wsman.New(ctx, wsman.Config{Host: s.Host(), Port: s.Port(), Auth: wsman.AuthBasic, Username: user, Password: password, OperationTimeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			sh, err := c.CreateShell(ctx, wsman.ShellOptions{ResourceURI: uri, Options: []wsman.Option{{Name: "protocolversion", Value: "2.3"}}})
			if err != nil {
				t.Fatal(err)
			}
			if tc.advance {
				go func() {
					if clk.BlockUntil(ctx, 1) == nil {
						clk.Advance(5 * time.Second)
					}
				}()
			}
			_, err = sh.Receive(ctx, "")
			if !isFault(err, tc.want) {
				t.Fatalf("receive: %v, want %s", err, tc.want)
			}
		})
	}
}

func isFault(err error, subcode string) bool {
	var f *wsman.FaultError
	return errors.As(err, &f) && f.Subcode == subcode
}
