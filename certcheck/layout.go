package certcheck

import (
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/runbook-dev/runbook/internal/boundedread"
)

// Identity is the stamp's identity provider, which picks the folder tree.
type Identity string

// The identity folders under Certificates.
const (
	AAD  Identity = "AAD"
	ADFS Identity = "ADFS"
)

// ParseIdentity accepts aad and adfs in any case.
func ParseIdentity(s string) (Identity, error) {
	switch strings.ToUpper(s) {
	case "AAD":
		return AAD, nil
	case "ADFS":
		return ADFS, nil
	}
	return "", fmt.Errorf("identity %q is neither aad nor adfs", s)
}

// Endpoint is one folder of the tree and the DNS name its certificate
// serves, as <label>.<region>.<fqdn>.
type Endpoint struct {
	// Folder is the folder's name under Certificates\<identity>.
	Folder string
	// Label is the name's first labels, e.g. "adminportal" or "*.blob".
	Label string
	// Optional endpoints are checked when their folder exists.
	Optional bool
	// ADFSOnly endpoints exist in AD FS deployments only.
	ADFSOnly bool
}

// Host returns the endpoint's DNS name on the stamp region.fqdn.
func (e Endpoint) Host(region, fqdn string) string {
	return strings.ToLower(e.Label + "." + region + "." + fqdn)
}

// endpoints are the external certificates Start-SecretRotation replaces
// (Azure Stack Hub public key infrastructure certificate requirements;
// Rotate secrets in Azure Stack Hub, 2022), in the order of the docs' tree.
var endpoints = []Endpoint{
	{Folder: "ACSBlob", Label: "*.blob"},
	{Folder: "ACSQueue", Label: "*.queue"},
	{Folder: "ACSTable", Label: "*.table"},
	{Folder: "ADFS", Label: "adfs", ADFSOnly: true},
	{Folder: "Admin Extension Host", Label: "*.adminhosting"},
	{Folder: "Admin Portal", Label: "adminportal"},
	{Folder: "ARM Admin", Label: "adminmanagement"},
	{Folder: "ARM Public", Label: "management"},
	{Folder: "Container Registry", Label: "*.azsacr", Optional: true},
	{Folder: "Graph", Label: "graph", ADFSOnly: true},
	{Folder: "KeyVault", Label: "*.vault"},
	{Folder: "KeyVaultInternal", Label: "*.adminvault"},
	{Folder: "Public Extension Host", Label: "*.hosting"},
	{Folder: "Public Portal", Label: "portal"},
}

// Endpoints returns the endpoint folders of an identity's tree, optional
// ones included.
func Endpoints(id Identity) []Endpoint {
	var out []Endpoint
	for _, e := range endpoints {
		if e.ADFSOnly && id != ADFS {
			continue
		}
		out = append(out, e)
	}
	return out
}

// MaxPFXSize bounds the PFX files CheckDir reads: a PFX with a key and a
// chain is a few kilobytes.
const MaxPFXSize = boundedread.Cert

// FolderResult is the judgement of one endpoint folder.
type FolderResult struct {
	Endpoint Endpoint
	// Host is the DNS name the certificate must cover.
	Host string
	// File is the PFX's path relative to the Certificates folder, with
	// backslashes as on the share ("ADFS\ARM Admin\management.pfx"); ""
	// when the folder holds no PFX.
	File string
	// Data is the PFX's content (for the caller to hash), nil when none.
	Data []byte
	// Result is Check's judgement, nil when the folder holds no single
	// PFX.
	Result *Result
	// Findings are the folder's own (RuleLayout) and Result's.
	Findings []Finding
}

// Present reports whether the folder held a PFX to judge.
func (f *FolderResult) Present() bool { return f.Result != nil }

// Tree is the judgement of a Certificates folder.
type Tree struct {
	Identity Identity
	Folders  []*FolderResult
	// Findings are about the tree itself (RuleLayout, RulePassword).
	Findings []Finding
}

// Failed reports whether any finding of the tree or a folder is a Fail.
func (t *Tree) Failed() bool {
	for _, fs := range append([][]Finding{t.Findings}, t.folderFindings()...) {
		for _, f := range fs {
			if f.Severity == Fail {
				return true
			}
		}
	}
	return false
}

func (t *Tree) folderFindings() [][]Finding {
	out := make([][]Finding, len(t.Folders))
	for i, f := range t.Folders {
		out[i] = f.Findings
	}
	return out
}

// CheckDir judges the tree in fsys, whose root is the Certificates folder:
// root/<identity>/<endpoint>/<one file>.pfx for every endpoint of the
// identity, each against the policy with the endpoint's host added (p.Hosts
// is ignored). region and fqdn name the stamp.
func CheckDir(fsys fs.FS, id Identity, region, fqdn, password string, p Policy) (*Tree, error) {
	t := &Tree{Identity: id, Findings: CheckPassword(password)}
	layout := func(format string, args ...any) {
		t.Findings = append(t.Findings, Finding{Rule: RuleLayout, Severity: Fail, Message: fmt.Sprintf(format, args...)})
	}
	top, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("read the certificate folder: %w", err)
	}
	hasID := false
	for _, e := range top {
		switch {
		case e.IsDir() && e.Name() == string(id):
			hasID = true
		case e.IsDir() && (strings.EqualFold(e.Name(), string(AAD)) || strings.EqualFold(e.Name(), string(ADFS))):
			layout("The folder %s belongs to another identity provider than this stamp's (%s); only %s may sit beside it. Remove it.", e.Name(), id, id)
		default:
			layout("%s is not part of the layout: the Certificates folder may hold only the %s folder. Move it away.", e.Name(), id)
		}
	}
	if !hasID {
		layout("There is no %s folder: the PFX files go in Certificates\\%s\\<endpoint>\\.", id, id)
		return t, nil
	}
	known := map[string]bool{}
	for _, ep := range Endpoints(id) {
		known[ep.Folder] = true
		fr := &FolderResult{Endpoint: ep, Host: ep.Host(region, fqdn)}
		dir := string(id) + "/" + ep.Folder
		folderFail := func(format string, args ...any) {
			fr.Findings = append(fr.Findings, Finding{Rule: RuleLayout, Severity: Fail, Message: fmt.Sprintf(format, args...)})
		}
		entries, err := fs.ReadDir(fsys, dir)
		if err != nil {
			if !ep.Optional {
				folderFail("The folder is missing; it must hold the PFX for %s.", fr.Host)
				t.Folders = append(t.Folders, fr)
			}
			continue
		}
		var pfx []string
		for _, e := range entries {
			if !e.IsDir() && strings.EqualFold(path.Ext(e.Name()), ".pfx") {
				pfx = append(pfx, e.Name())
			}
		}
		sort.Strings(pfx)
		switch len(pfx) {
		case 0:
			folderFail("The folder holds no .pfx file; put the PFX for %s in it.", fr.Host)
		case 1:
			fr.File = string(id) + `\` + ep.Folder + `\` + pfx[0]
			data, err := boundedread.FS(fsys, dir+"/"+pfx[0], MaxPFXSize)
			if err != nil {
				folderFail("%v.", err)
				break
			}
			fr.Data = data
			pol := p
			pol.Hosts = []string{fr.Host}
			fr.Result = Check(data, password, pol)
			fr.Findings = append(fr.Findings, fr.Result.Findings...)
		default:
			folderFail("The folder holds %d PFX files (%s); it must hold exactly one.", len(pfx), strings.Join(pfx, ", "))
		}
		t.Folders = append(t.Folders, fr)
	}
	entries, _ := fs.ReadDir(fsys, string(id))
	for _, e := range entries {
		if !known[e.Name()] {
			layout("%s\\%s is not an endpoint folder Start-SecretRotation knows; remove it.", id, e.Name())
		}
	}
	return t, nil
}
