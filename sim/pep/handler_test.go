package pep

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/runbook-dev/runbook/pep/psrp"
	"github.com/runbook-dev/runbook/sim/wsman"
)

// creation builds a creationXml payload for rpid from the given messages.
func creation(t *testing.T, rpid psrp.GUID, msgs ...psrp.Message) []byte {
	t.Helper()
	var fr psrp.Fragmenter
	var frags []psrp.Fragment
	for _, m := range msgs {
		if m.RPID.IsNil() {
			m.RPID = rpid
		}
		b, _ := m.MarshalBinary()
		frags = append(frags, fr.Fragment(b)...)
	}
	return psrp.Pack(frags, 1<<20)[0]
}

func msg(t *testing.T, mt psrp.MessageType, v any) psrp.Message {
	t.Helper()
	data, err := psrp.Marshal(v, nil)
	if err != nil {
		t.Fatal(err)
	}
	return psrp.Message{Destination: psrp.ToServer, Type: mt, Data: data}
}

func TestCreateRejects(t *testing.T) {
	rpid := psrp.GUID{1, 2, 3, 4, 5, 6, 0x47, 8, 0x89}
	capability := msg(t, psrp.MsgSessionCapability, psrp.DefaultCapability.Object())
	initPool := msg(t, psrp.MsgInitRunspacePool, psrp.InitPool{MinRunspaces: 1, MaxRunspaces: 1}.Object())
	other := capability
	other.RPID = psrp.GUID{9}
	old := msg(t, psrp.MsgSessionCapability, psrp.Capability{ProtocolVersion: "2.0", PSVersion: "2.0", SerializationVersion: "1.1.0.1"}.Object())
	tests := map[string]struct {
		shellID  string
		creation []byte
		want     string
	}{
		"messages for two pools": {shellID: rpid.Upper(), creation: creation(t, rpid, other, initPool), want: "not addressed to RunspacePool"},
		"nil RPID":               {shellID: rpid.Upper(), creation: creation(t, psrp.NilGUID, capability, initPool), want: "not addressed to RunspacePool"},
		"protocol too old":       {shellID: rpid.Upper(), creation: creation(t, rpid, old, initPool), want: "too old"},
		"init before capability": {shellID: rpid.Upper(), creation: creation(t, rpid, initPool), want: "before SESSION_CAPABILITY"},
		"not fragments":          {shellID: rpid.Upper(), creation: []byte("hello"), want: "Bad PowerShell remoting data"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p, err := New(Config{})
			if err != nil {
				t.Fatal(err)
			}
			err = p.Create(context.Background(), &wsman.CreateRequest{ShellID: tc.shellID, CreationXML: tc.creation})
			var f *wsman.Fault
			if !errors.As(err, &f) || !strings.Contains(f.Reason, tc.want) {
				t.Fatalf("Create = %v, want a fault containing %q", err, tc.want)
			}
			if n := p.State().Sessions; n != 0 {
				t.Errorf("%d sessions after a refused Create", n)
			}
		})
	}
}

func TestCreateSessionLimit(t *testing.T) {
	p, err := New(Config{MaxSessions: 2})
	if err != nil {
		t.Fatal(err)
	}
	capability := msg(t, psrp.MsgSessionCapability, psrp.DefaultCapability.Object())
	initPool := msg(t, psrp.MsgInitRunspacePool, psrp.InitPool{MinRunspaces: 1, MaxRunspaces: 1}.Object())
	var ids []string
	for i := range 3 {
		rpid, _ := psrp.NewGUID(nil)
		err := p.Create(context.Background(), &wsman.CreateRequest{ShellID: rpid.Upper(), CreationXML: creation(t, rpid, capability, initPool)})
		var f *wsman.Fault
		switch {
		case i < 2 && err != nil:
			t.Fatalf("session %d: %v", i+1, err)
		case i == 2 && (!errors.As(err, &f) || f.Subcode != "w:QuotaLimit"):
			t.Fatalf("third session: %v, want w:QuotaLimit", err)
		}
		ids = append(ids, rpid.Upper())
	}
	if err := p.Delete(context.Background(), &wsman.DeleteRequest{Header: wsman.Header{ShellID: ids[0]}}); err != nil {
		t.Fatal(err)
	}
	rpid, _ := psrp.NewGUID(nil)
	if err := p.Create(context.Background(), &wsman.CreateRequest{ShellID: rpid.Upper(), CreationXML: creation(t, rpid, capability, initPool)}); err != nil {
		t.Fatalf("Create after a Delete freed a slot: %v", err)
	}
}
