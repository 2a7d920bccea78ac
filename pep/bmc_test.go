package pep

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	simpep "github.com/runbook-dev/runbook/sim/pep"
)

const initialBMC = "Initial-Bmc-1"

// bmcState is what each node's BMC and stored credential are, by password.
type bmcState map[string]string

func observe(ep *simpep.Endpoint, passwords ...string) bmcState {
	got := bmcState{}
	for _, n := range ep.State().Nodes {
		bmc, stored := "?", "?"
		for _, pw := range passwords {
			if ep.BMCPasswordMatches(n.Name, pw) {
				bmc = pw
			}
			if ep.StoredPasswordMatches(n.Name, pw) {
				stored = pw
			}
		}
		got[n.Name] = bmc + "/" + stored
	}
	return got
}

func TestSetBmcCredential(t *testing.T) {
	secret := func(v string) Param { return Param{Name: "BmcPassword", Value: v, Secret: true} }
	all := func(s string) bmcState {
		return bmcState{"AzS-Node01": s, "AzS-Node02": s, "AzS-Node03": s}
	}
	tests := map[string]bmcCase{
		"every node": {
			call: Call{Cmdlet: "Set-BmcCredential", Params: []Param{secret(canary)}},
			want: all(canary + "/" + canary),
		},
		"with a user": {
			call:     Call{Cmdlet: "Set-BmcCredential", Params: []Param{secret(canary), {Name: "BmcUser", Value: "bmcadmin"}}},
			want:     all(canary + "/" + canary),
			wantUser: "bmcadmin",
		},
		"bypass the BMCs": {
			call: Call{Cmdlet: "Set-BmcCredential", Params: []Param{secret(canary), {Name: "BypassBMCUpdate", Value: true}}},
			want: all(initialBMC + "/" + canary),
		},
		"switch false is absent": {
			call: Call{Cmdlet: "Set-BmcCredential", Params: []Param{secret(canary), {Name: "BypassBMCUpdate", Value: false}}},
			want: all(canary + "/" + canary),
		},
		"a BMC rejects the password mid-way": {
			setup:    func(ep *simpep.Endpoint) { ep.RejectNextBMCPassword("AzS-Node02", "password was used recently") },
			call:     Call{Cmdlet: "Set-BmcCredential", Params: []Param{secret(canary)}},
			wantFQID: "BmcCredentialUpdateFailed,Set-BmcCredential",
			want: bmcState{
				"AzS-Node01": canary + "/" + canary,
				"AzS-Node02": initialBMC + "/" + initialBMC,
				"AzS-Node03": initialBMC + "/" + initialBMC,
			},
		},
		"too short for the BMCs": {
			call:     Call{Cmdlet: "Set-BmcCredential", Params: []Param{secret("Short-1")}},
			wantFQID: "BmcCredentialUpdateFailed,Set-BmcCredential",
			want:     all(initialBMC + "/" + initialBMC),
		},
		"user longer than 16": {
			call:     Call{Cmdlet: "Set-BmcCredential", Params: []Param{secret(canary), {Name: "BmcUser", Value: "administrator-bmc"}}},
			wantFQID: "ParameterArgumentValidationError,Set-BmcCredential",
			want:     all(initialBMC + "/" + initialBMC),
		},
		"no password": {
			call:     Call{Cmdlet: "Set-BmcCredential", Params: []Param{{Name: "BmcUser", Value: "root"}}},
			wantFQID: "MissingMandatoryParameter,Set-BmcCredential",
			want:     all(initialBMC + "/" + initialBMC),
		},
		"password as plain text": {
			call:     Call{Cmdlet: "Set-BmcCredential", Params: []Param{{Name: "BmcPassword", Value: "not-a-secret-1"}}},
			wantFQID: "ParameterArgumentTransformationError,Set-BmcCredential",
			want:     all(initialBMC + "/" + initialBMC),
		},
		"unknown parameter": {
			call:     Call{Cmdlet: "Set-BmcCredential", Params: []Param{secret(canary), {Name: "Force", Value: true}}},
			wantFQID: "NamedParameterNotFound,Set-BmcCredential",
			want:     all(initialBMC + "/" + initialBMC),
		},
		"older stamp lacks Set-BmcCredential": {
			cfg:      simpep.Config{LegacyOnly: true},
			call:     Call{Cmdlet: "Set-BmcCredential", Params: []Param{secret(canary)}},
			wantFQID: "CommandNotFoundException",
			want:     all(initialBMC + "/" + initialBMC),
		},
		"older stamp, older name": {
			cfg:  simpep.Config{LegacyOnly: true},
			call: Call{Cmdlet: "Set-BmcPassword", Params: []Param{secret(canary)}},
			want: all(canary + "/" + canary),
		},
		"older name takes no user": {
			call:     Call{Cmdlet: "Set-BmcPassword", Params: []Param{secret(canary), {Name: "BmcUser", Value: "root"}}},
			wantFQID: "NamedParameterNotFound,Set-BmcPassword",
			want:     all(initialBMC + "/" + initialBMC),
		},
	}
	for name, tc := range tests {
		for _, mode := range []string{"basic over http", "sealed ntlm over http"} {
			t.Run(name+"/"+mode, func(t *testing.T) { tc.run(t, modes[mode]) })
		}
	}
}

// bmcCase is one Set-BmcCredential scenario.
type bmcCase struct {
	cfg      simpep.Config
	setup    func(ep *simpep.Endpoint)
	call     Call
	wantFQID string
	want     bmcState // BMC password / stored password per node
	wantUser string
}

func (tc bmcCase) run(t *testing.T, m mode) {
	e := newEnv(t, m, tc.cfg)
	if tc.setup != nil {
		tc.setup(e.ep)
	}
	_, err := e.dial(t).Invoke(context.Background(), tc.call)
	var ce *CommandError
	switch {
	case tc.wantFQID == "" && err != nil:
		t.Fatal(err)
	case tc.wantFQID != "" && !errors.As(err, &ce):
		t.Fatalf("Invoke = %v, want a CommandError %s", err, tc.wantFQID)
	case tc.wantFQID != "" && ce.Record.FullyQualifiedErrorId != tc.wantFQID:
		t.Errorf("FullyQualifiedErrorId %q, want %q (%s)", ce.Record.FullyQualifiedErrorId, tc.wantFQID, ce.Record.Message)
	}
	if err != nil {
		assertNoSecret(t, canary, "the error", err.Error())
		assertNoSecret(t, "Short-1", "the error", err.Error())
	}
	if diff := cmp.Diff(tc.want, observe(e.ep, initialBMC, canary, "Short-1")); diff != "" {
		t.Errorf("BMC/stored passwords (-want +got):\n%s", diff)
	}
	if tc.wantUser != "" {
		for _, n := range e.ep.State().Nodes {
			if n.BMCUser != tc.wantUser {
				t.Errorf("node %s user %q, want %q", n.Name, n.BMCUser, tc.wantUser)
			}
		}
	}
}
