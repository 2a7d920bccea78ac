package certcheck_test

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/runbook-dev/runbook/certcheck"
	"github.com/runbook-dev/runbook/sim/certs"
)

var epoch = time.Date(2026, 11, 28, 22, 0, 0, 0, time.UTC)

const (
	password = "Pfx-Pa55w.rd"
	host     = "adminmanagement.local.azurestack.external"
)

func testCA(t *testing.T) *certs.CA {
	t.Helper()
	ca, err := certs.NewCA("certcheck test root", epoch.AddDate(-1, 0, 0), epoch.AddDate(10, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func policy(ca *certs.CA) certcheck.Policy {
	return certcheck.Policy{
		Hosts: []string{host}, Now: epoch, Roots: []*x509.Certificate{ca.Cert},
		ExtKeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
}

func rules(fs []certcheck.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, string(f.Rule))
	}
	sort.Strings(out)
	return out
}

// TestCheckFlaws proves each Readiness Checker rule: every flaw the
// simulated CA can build in is reported by its rule, and by that rule
// alone (a certificate with no flaw has no finding).
func TestCheckFlaws(t *testing.T) {
	ca := testCA(t)
	tests := map[certs.Flaw][]certcheck.Rule{
		certs.FlawNone:            nil,
		certs.FlawWrongPassword:   {certcheck.RuleParsePFX},
		certs.FlawNoPrivateKey:    {certcheck.RulePrivateKey},
		certs.FlawIncompleteChain: {certcheck.RuleChain},
		certs.FlawSelfSigned:      {certcheck.RuleChain},
		certs.FlawChainOrder:      {certcheck.RuleChainOrder},
		certs.FlawExtraCert:       {certcheck.RuleOtherCerts},
		certs.FlawWrongSAN:        {certcheck.RuleDNSNames},
		certs.FlawKeyUsage:        {certcheck.RuleKeyUsage},
		certs.FlawNoClientAuth:    {certcheck.RuleKeyUsage},
		certs.FlawWeakKey:         {certcheck.RuleKeyLength},
		certs.FlawSHA1:            {certcheck.RuleSignature},
		certs.FlawExpired:         {certcheck.RuleExpiry},
		certs.FlawNotYetValid:     {certcheck.RuleExpiry},
		certs.FlawExpiresSoon:     {certcheck.RuleExpiry},
		certs.FlawAESEncryption:   {certcheck.RulePFXEncryption},
		certs.FlawOtherCA:         {certcheck.RuleTrust},
	}
	if len(tests) != len(certs.Flaws())+1 {
		t.Errorf("table covers %d flaws, sim/certs has %d", len(tests)-1, len(certs.Flaws()))
	}
	for flaw, want := range tests {
		t.Run(flaw.String(), func(t *testing.T) {
			data, err := ca.IssuePFX(certs.PFXOptions{Hosts: []string{host}, Now: epoch, Password: password, Flaw: flaw})
			if err != nil {
				t.Fatal(err)
			}
			r := certcheck.Check(data, password, policy(ca))
			var w []string
			for _, rule := range want {
				w = append(w, string(rule))
			}
			if diff := cmp.Diff(w, rules(r.Findings)); diff != "" {
				t.Errorf("rules broken (-want +got):\n%s\nfindings: %v", diff, r.Findings)
			}
			if r.Failed() != (len(want) > 0) {
				t.Errorf("Failed() = %v with findings %v", r.Failed(), r.Findings)
			}
			for _, f := range r.Findings {
				if strings.Contains(f.Message, password) {
					t.Errorf("finding %q quotes the password", f)
				}
			}
		})
	}
}

func TestStricterValidityPolicy(t *testing.T) {
	ca := testCA(t)
	data, err := ca.IssuePFX(certs.PFXOptions{Hosts: []string{host}, Now: epoch, Password: password, NotAfter: epoch.AddDate(0, 0, 60)})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		min  time.Duration
		want []string
	}{
		{0, nil},
		{30 * 24 * time.Hour, nil},
		{90 * 24 * time.Hour, []string{string(certcheck.RuleExpiry)}},
	} {
		p := policy(ca)
		p.MinValidity = tc.min
		if diff := cmp.Diff(tc.want, rules(certcheck.Check(data, password, p).Findings)); diff != "" {
			t.Errorf("min validity %v (-want +got):\n%s", tc.min, diff)
		}
	}
}

// TestCAChange: a complete chain to a root other than the stamp's is
// accepted when that root is declared trusted, and reported as a change.
func TestCAChange(t *testing.T) {
	stamp, other := testCA(t), mustCA(t, certs.OtherCAName)
	data, err := other.IssuePFX(certs.PFXOptions{Hosts: []string{host}, Now: epoch, Password: password})
	if err != nil {
		t.Fatal(err)
	}
	p := policy(stamp)
	if r := certcheck.Check(data, password, p); !r.Failed() || r.CAChange {
		t.Errorf("undeclared root: failed %v, CA change %v; want refused", r.Failed(), r.CAChange)
	}
	p.TrustedRoots = []*x509.Certificate{other.Cert}
	r := certcheck.Check(data, password, p)
	if r.Failed() || !r.CAChange {
		t.Errorf("declared root: findings %v, CA change %v; want accepted as a change", r.Findings, r.CAChange)
	}
	if got := r.Root().Subject.CommonName; got != certs.OtherCAName {
		t.Errorf("root %q, want %q", got, certs.OtherCAName)
	}
}

func mustCA(t *testing.T, name string) *certs.CA {
	t.Helper()
	ca, err := certs.NewCA(name, epoch.AddDate(-1, 0, 0), epoch.AddDate(10, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func TestCheckPassword(t *testing.T) {
	tests := map[string]bool{
		"Pfx-Pa55w.rd": false, "with$dollar": true, "star*": true, "hash#": true, "at@": true, "paren)": true, "(open": false,
	}
	for pw, bad := range tests {
		f := certcheck.CheckPassword(pw)
		if (len(f) > 0) != bad {
			t.Errorf("CheckPassword(%q) = %v, want refused %v", pw, f, bad)
		}
		for _, x := range f {
			if x.Rule != certcheck.RulePassword || strings.Contains(x.Message, pw) {
				t.Errorf("finding %v", x)
			}
		}
	}
}

func TestCovers(t *testing.T) {
	tests := []struct {
		sans []string
		host string
		want bool
	}{
		{[]string{"adminportal.local.azurestack.external"}, "adminportal.local.azurestack.external", true},
		{[]string{"*.local.azurestack.external"}, "adminportal.local.azurestack.external", true},
		{[]string{"*.blob.local.azurestack.external"}, "*.blob.local.azurestack.external", true},
		{[]string{"*.local.azurestack.external"}, "*.blob.local.azurestack.external", false},
		{[]string{"*.azurestack.external"}, "adminportal.local.azurestack.external", false},
		{[]string{"ADMINPORTAL.local.azurestack.external."}, "adminportal.local.azurestack.external", true},
		{nil, "portal.local.azurestack.external", false},
	}
	for _, tc := range tests {
		if got := certcheck.Covers(tc.sans, tc.host); got != tc.want {
			t.Errorf("Covers(%v, %q) = %v, want %v", tc.sans, tc.host, got, tc.want)
		}
	}
}

// TestCheckDir judges whole trees: the valid one, each layout flaw, and a
// certificate flaw, with each finding on the folder and file at fault.
func TestCheckDir(t *testing.T) {
	ca := testCA(t)
	type want struct {
		tree    []string // tree-level rules
		folders map[string][]string
	}
	tests := map[string]struct {
		id     certcheck.Identity
		flaw   certs.Flaw
		layout string
		edit   func(t *testing.T, dir string)
		want   want
	}{
		"adfs valid": {id: certcheck.ADFS},
		"aad valid":  {id: certcheck.AAD},
		"missing folder": {id: certcheck.ADFS, layout: certs.LayoutMissingFolder,
			want: want{folders: map[string][]string{"ARM Admin": {"Folder Layout"}}}},
		"two files": {id: certcheck.ADFS, layout: certs.LayoutExtraPFX,
			want: want{folders: map[string][]string{"ARM Admin": {"Folder Layout"}}}},
		"weak key": {id: certcheck.AAD, flaw: certs.FlawWeakKey,
			want: want{folders: map[string][]string{"ARM Admin": {"Key Length"}}}},
		"stray folder": {id: certcheck.ADFS, edit: func(t *testing.T, dir string) {
			mkdir(t, filepath.Join(dir, "AAD"))
			mkdir(t, filepath.Join(dir, "ADFS", "Old"))
		}, want: want{tree: []string{"Folder Layout", "Folder Layout"}}},
		"empty folder": {id: certcheck.ADFS, edit: func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, "ADFS", "Graph", certs.FileName("Graph"))); err != nil {
				t.Fatal(err)
			}
		}, want: want{folders: map[string][]string{"Graph": {"Folder Layout"}}}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if _, err := ca.WriteExternal(certs.ExternalOptions{Dir: dir, Identity: tc.id, Region: "local", FQDN: "azurestack.external",
				Password: password, Now: epoch, Flaw: tc.flaw, Layout: tc.layout}); err != nil {
				t.Fatal(err)
			}
			if tc.edit != nil {
				tc.edit(t, dir)
			}
			tree, err := certcheck.CheckDir(os.DirFS(dir), tc.id, "local", "azurestack.external", password, policy(ca))
			if err != nil {
				t.Fatal(err)
			}
			got := want{tree: rules(tree.Findings), folders: map[string][]string{}}
			nFolders := 0
			for _, f := range tree.Folders {
				nFolders++
				if len(f.Findings) > 0 {
					got.folders[f.Endpoint.Folder] = rules(f.Findings)
				}
				if f.Present() && !strings.HasPrefix(f.File, string(tc.id)+`\`+f.Endpoint.Folder+`\`) {
					t.Errorf("file %q is not in its folder", f.File)
				}
			}
			if tc.want.folders == nil {
				tc.want.folders = map[string][]string{}
			}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(want{})); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
			if wantN := len(certcheck.Endpoints(tc.id)) - 1; nFolders != wantN { // Container Registry is optional
				t.Errorf("%d folders judged, want %d", nFolders, wantN)
			}
			if tree.Failed() != (len(tc.want.tree)+len(tc.want.folders) > 0) {
				t.Errorf("Failed() = %v", tree.Failed())
			}
		})
	}
}

func mkdir(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

func TestEndpointsPerIdentity(t *testing.T) {
	folders := func(id certcheck.Identity) []string {
		var out []string
		for _, e := range certcheck.Endpoints(id) {
			out = append(out, e.Folder)
		}
		return out
	}
	aad, adfs := folders(certcheck.AAD), folders(certcheck.ADFS)
	if len(adfs)-len(aad) != 2 || strings.Contains(strings.Join(aad, ","), "Graph") {
		t.Errorf("AAD %v, ADFS %v: want ADFS and Graph in ADFS only", aad, adfs)
	}
}
