package pep

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/runbook-dev/runbook/clock"
	"github.com/runbook-dev/runbook/pep/psrp"
)

func TestStatePersistsHashesOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".runbook", "sim", "pep.json")
	f := clock.NewFake(time.Date(2026, 11, 28, 22, 0, 0, 0, time.UTC))
	cfg := Config{StatePath: path, Clock: f, BMCPassword: "First-Bmc-Pw-1"}
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	const next = "Second-Bmc-Pw-2"
	if err := p.changeBMC(p.nodes[1], "bmcuser", next, false); err != nil {
		t.Fatal(err)
	}
	p.record(TranscriptEntry{Time: f.Now(), User: "u", Command: "Set-BmcCredential",
		Parameters: []TranscriptParam{{Name: "BmcPassword", Value: transcriptValue(psrp.NewSecureString(next))}}, Outcome: "Completed"})
	if err := p.SaveError(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"First-Bmc-Pw-1", next} {
		if strings.Contains(string(b), secret) {
			t.Errorf("state file holds a password:\n%s", b)
		}
	}

	// A new PEP on the same file sees the same stamp.
	q, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{
		"node01 first": q.BMCPasswordMatches("AzS-Node01", "First-Bmc-Pw-1"),
		"node02 next":  q.BMCPasswordMatches("azs-node02", next),
		"node02 first": q.BMCPasswordMatches("AzS-Node02", "First-Bmc-Pw-1"),
		"node03 first": q.BMCPasswordMatches("AzS-Node03", "First-Bmc-Pw-1"),
		"stored next":  q.StoredPasswordMatches("AzS-Node02", next),
		"unknown node": q.BMCPasswordMatches("AzS-Node09", next),
	}
	want := map[string]bool{"node01 first": true, "node02 next": true, "node02 first": false, "node03 first": true, "stored next": true, "unknown node": false}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(p.Transcript(), q.Transcript()); diff != "" {
		t.Errorf("transcript after reload (-want +got):\n%s", diff)
	}
	st := q.State()
	if st.Nodes[1].BMCUser != "bmcuser" || st.Nodes[1].Changes != 1 || !st.Nodes[1].Changed.Equal(f.Now()) {
		t.Errorf("node after reload: %+v", st.Nodes[1])
	}
}

func TestLoadRejectsCorruptState(t *testing.T) {
	tests := map[string]string{
		"not json":     "{",
		"bad salt":     `{"salt":"zz","nodes":[]}`,
		"bad hash":     `{"salt":"00ff","nodes":[{"name":"n","bmcPasswordHmac":"x","storedPasswordHmac":"00"}]}`,
		"missing salt": `{"nodes":[]}`,
	}
	for name, content := range tests {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "pep.json")
			if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := New(Config{StatePath: path}); err == nil {
				t.Fatal("New accepted a corrupt state file")
			}
		})
	}
}

func TestDefaultBMCPolicy(t *testing.T) {
	tests := map[string]bool{
		"Good-Pass-1":       true,
		"12345678":          true,
		"Short-1":           false,
		"Seventeen-Chars-1": false,
		"With space 1":      false,
		"Non-ascii-ü-1":     false,
		"Tab\tinside-1":     false,
	}
	for pw, ok := range tests {
		err := DefaultBMCPolicy(pw)
		if (err == nil) != ok {
			t.Errorf("DefaultBMCPolicy(%q) = %v, want ok=%v", pw, err, ok)
		}
		if err != nil && strings.Contains(err.Error(), pw) {
			t.Errorf("the policy error quotes the password: %v", err)
		}
	}
}

func TestTranscriptText(t *testing.T) {
	e := TranscriptEntry{
		Time: time.Date(2026, 11, 28, 22, 0, 0, 0, time.UTC), User: `AZURESTACK\CloudAdmin`, Session: "S1",
		Command: "Set-BmcCredential",
		Parameters: []TranscriptParam{
			{Name: "BmcPassword", Value: transcriptValue(psrp.NewSecureString("Top-Secret-1"))},
			{Name: "BmcUser", Value: transcriptValue("root")},
			{Name: "BypassBMCUpdate", Value: transcriptValue(true)},
		},
		Outcome: "Completed",
	}
	want := "**********************\n2026-11-28T22:00:00Z AZURESTACK\\CloudAdmin S1\n" +
		"PS>CommandInvocation(Set-BmcCredential): \"Set-BmcCredential\"\n" +
		">> ParameterBinding(Set-BmcCredential): name=\"BmcPassword\"; value=\"System.Security.SecureString\"\n" +
		">> ParameterBinding(Set-BmcCredential): name=\"BmcUser\"; value=\"root\"\n" +
		">> ParameterBinding(Set-BmcCredential): name=\"BypassBMCUpdate\"; value=\"True\"\n" +
		"-- Completed\n"
	if diff := cmp.Diff(want, e.Text()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestTranscriptValue(t *testing.T) {
	cred := &psrp.Object{TypeNames: []string{"System.Management.Automation.PSCredential", "System.Object"},
		Props: []psrp.Property{{Name: "UserName", Value: "u"}, {Name: "Password", Value: psrp.NewSecureString("Pw-In-Credential")}}}
	tests := map[string]struct {
		in   any
		want string
	}{
		"nil":           {nil, ""},
		"string":        {"abc", "abc"},
		"false":         {false, "False"},
		"secure string": {psrp.NewSecureString("x"), "System.Security.SecureString"},
		"credential":    {cred, "System.Management.Automation.PSCredential"},
		"list":          {&psrp.Object{ListTag: "LST", List: []any{"a", int32(2)}}, "a, 2"},
		"enum":          {psrp.Enum("T", "Name", 1), "Name"},
		"number":        {int32(7), "7"},
	}
	for name, tc := range tests {
		if got := transcriptValue(tc.in); got != tc.want {
			t.Errorf("%s: %q, want %q", name, got, tc.want)
		}
	}
}
