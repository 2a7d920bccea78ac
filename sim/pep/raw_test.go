package pep

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"sync"
	"testing"

	"github.com/runbook-dev/runbook/pep/psrp"
	simwsman "github.com/runbook-dev/runbook/sim/wsman"
	"github.com/runbook-dev/runbook/wsman"
)

// raw is a minimal PSRP client written for these tests on the codec and the
// wsman transport, independent of package pep: it can send what package pep
// refuses to (script text, several commands, positional arguments), so the
// JEA rules are checked from the wire.
type raw struct {
	t    *testing.T
	sh   *wsman.Shell
	rpid psrp.GUID
	out  psrp.Fragmenter
	in   psrp.Defragmenter
	key  *psrp.SessionKey
}

const (
	rawUser = `AZURESTACK\CloudAdmin`
	rawPass = "Raw-Client-Pw1"
)

func startRaw(t *testing.T, cfg Config) (*Endpoint, *raw) {
	t.Helper()
	ep, err := Start(cfg, simwsman.Config{Auth: simwsman.AuthBasic, Username: rawUser, Password: rawPass})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ep.Close() })
	return ep, openRaw(t, ep)
}

func openRaw(t *testing.T, ep *Endpoint) *raw {
	t.Helper()
	r := dialRaw(t, ep, "")
	r.poolUntil(psrp.MsgRunspacePoolState)
	return r
}

// dialRaw creates the shell with a new pool id in the creationXml and, as
// the ShellId, shellID ("": the pool id, as PowerShell does; "-": none, so
// that the server chooses) without reading the pool's output.
func dialRaw(t *testing.T, ep *Endpoint, shellID string) *raw {
	t.Helper()
	ctx := context.Background()
	c, err := wsman.New(ctx, wsman.Config{Host: ep.WSMan.Host(), Port: ep.WSMan.Port(), Auth: wsman.AuthBasic, Username: rawUser, Password: rawPass})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	r := &raw{t: t}
	if r.rpid, err = psrp.NewGUID(nil); err != nil {
		t.Fatal(err)
	}
	frags := append(r.message(psrp.MsgSessionCapability, psrp.NilGUID, psrp.DefaultCapability.Object()),
		r.message(psrp.MsgInitRunspacePool, psrp.NilGUID, psrp.InitPool{MinRunspaces: 1, MaxRunspaces: 1}.Object())...)
	switch shellID {
	case "":
		shellID = r.rpid.Upper()
	case "-":
		shellID = ""
	}
	r.sh, err = c.CreateShell(ctx, wsman.ShellOptions{
		ResourceURI: ep.ResourceURI(), ShellID: shellID,
		InputStreams: []string{"stdin", "pr"}, OutputStreams: []string{"stdout"},
		CreationXML: psrp.Pack(frags, 1<<20)[0],
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *raw) message(mt psrp.MessageType, pid psrp.GUID, v any) []psrp.Fragment {
	r.t.Helper()
	data, err := psrp.Marshal(v, r.key)
	if err != nil {
		r.t.Fatal(err)
	}
	b, _ := psrp.Message{Destination: psrp.ToServer, Type: mt, RPID: r.rpid, PID: pid, Data: data}.MarshalBinary()
	return r.out.Fragment(b)
}

// poolUntil reads pool output until a message of type want arrives.
func (r *raw) poolUntil(want psrp.MessageType) any {
	r.t.Helper()
	for {
		got, err := r.sh.Receive(context.Background(), "", "stdout")
		if err != nil {
			r.t.Fatal(err)
		}
		for _, st := range got.Streams {
			msgs, err := r.in.Feed(st.Data)
			if err != nil {
				r.t.Fatal(err)
			}
			for _, raw := range msgs {
				m, err := psrp.ParseMessage(raw)
				if err != nil {
					r.t.Fatal(err)
				}
				if m.Type == want {
					v, err := psrp.Unmarshal(m.Data, r.key)
					if err != nil {
						r.t.Fatal(err)
					}
					return v
				}
			}
		}
	}
}

var (
	rawKeyOnce sync.Once
	rawKey     *rsa.PrivateKey
)

// exchangeKeys runs the client side of the key exchange.
func (r *raw) exchangeKeys() {
	r.t.Helper()
	rawKeyOnce.Do(func() {
		var err error
		if rawKey, err = psrp.GenerateKeyPair(nil); err != nil {
			panic(err)
		}
	})
	blob, _ := psrp.MarshalPublicKeyBlob(&rawKey.PublicKey)
	for _, p := range psrp.Pack(r.message(psrp.MsgPublicKey, psrp.NilGUID, psrp.PublicKeyObject(blob)), 1<<20) {
		if err := r.sh.Send(context.Background(), "", "stdin", p, false); err != nil {
			r.t.Fatal(err)
		}
	}
	esk, err := psrp.ParseKeyBlob(r.poolUntil(psrp.MsgEncryptedSessionKey), "EncryptedSessionKey")
	if err != nil {
		r.t.Fatal(err)
	}
	if r.key, err = psrp.DecryptSessionKey(rawKey, esk); err != nil {
		r.t.Fatal(err)
	}
}

// rawResult is what a pipeline sent back.
type rawResult struct {
	output   []any
	errors   []psrp.ErrorRecord
	info     []string
	infoObjs []*psrp.Object // the INFORMATION_RECORD objects as sent
	state    psrp.PipelineState
}

// run sends cp as a new pipeline and reads it to the end.
func (r *raw) run(cp psrp.CreatePipeline) rawResult {
	r.t.Helper()
	pid, _ := psrp.NewGUID(nil)
	return r.runAs(pid, pid.Upper(), cp)
}

// runAs runs cp as pipeline pid under the CommandId commandID.
func (r *raw) runAs(pid psrp.GUID, commandID string, cp psrp.CreatePipeline) rawResult {
	r.t.Helper()
	ctx := context.Background()
	payloads := psrp.Pack(r.message(psrp.MsgCreatePipeline, pid, cp.Object()), 1<<20)
	id, err := r.sh.Command(ctx, wsman.CommandOptions{CommandID: commandID, Arguments: []string{base64.StdEncoding.EncodeToString(payloads[0])}})
	if err != nil {
		r.t.Fatal(err)
	}
	var res rawResult
	var in psrp.Defragmenter
	for done := false; !done; {
		got, err := r.sh.Receive(ctx, id, "stdout")
		if err != nil {
			r.t.Fatal(err)
		}
		done = got.Done()
		for _, st := range got.Streams {
			msgs, err := in.Feed(st.Data)
			if err != nil {
				r.t.Fatal(err)
			}
			for _, b := range msgs {
				m, err := psrp.ParseMessage(b)
				if err != nil {
					r.t.Fatal(err)
				}
				v, err := psrp.Unmarshal(m.Data, r.key)
				if err != nil {
					r.t.Fatal(err)
				}
				switch m.Type {
				case psrp.MsgPipelineOutput:
					res.output = append(res.output, v)
				case psrp.MsgErrorRecord:
					res.errors = append(res.errors, psrp.ParseErrorRecord(v.(*psrp.Object)))
				case psrp.MsgInformationRecord:
					res.info = append(res.info, psrp.ParseInformationRecord(v))
					o, _ := v.(*psrp.Object)
					res.infoObjs = append(res.infoObjs, o)
				case psrp.MsgPipelineState:
					if res.state, err = psrp.ParsePipelineState(v); err != nil {
						r.t.Fatal(err)
					}
				}
			}
		}
	}
	return res
}

// command is a one-command pipeline.
func command(name string, args ...psrp.Argument) psrp.CreatePipeline {
	return psrp.CreatePipeline{NoInput: true, Commands: []psrp.Command{{Cmd: name, Args: args}}}
}
