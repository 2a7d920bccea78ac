package certs

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/runbook-dev/runbook/certcheck"
)

// Layout flaws WriteExternal builds into the folder tree rather than into a
// certificate.
const (
	// LayoutMissingFolder leaves the flawed endpoint's folder out.
	LayoutMissingFolder = "missing-folder"
	// LayoutExtraPFX puts a second PFX into the flawed endpoint's folder.
	LayoutExtraPFX = "extra-pfx"
)

// DefaultFlawFolder is the endpoint folder a flaw goes into unless told
// otherwise: the admin Resource Manager, whose certificate plan can also
// compare with the one the stamp serves.
const DefaultFlawFolder = "ARM Admin"

// ExternalOptions describes a Certificates folder for WriteExternal.
type ExternalOptions struct {
	// Dir is the Certificates folder to write (created if missing).
	Dir string
	// Identity picks the tree; default certcheck.ADFS.
	Identity certcheck.Identity
	// Region and FQDN name the stamp: region.fqdn.
	Region, FQDN string
	// Password protects every PFX.
	Password string
	// Now is the stamp's time; the certificates are valid for a year.
	Now time.Time
	// Flaw is built into the PFX of FlawFolder (default
	// DefaultFlawFolder); Layout is a layout flaw there.
	Flaw       Flaw
	Layout     string
	FlawFolder string
	// Only writes FlawFolder alone, leaving the other folders as they
	// are, so that several flaws can sit in one tree.
	Only bool
}

// FileName is the PFX file name WriteExternal gives an endpoint folder.
func FileName(folder string) string {
	return strings.ToLower(strings.ReplaceAll(folder, " ", "")) + ".pfx"
}

// WriteExternal writes one PFX per endpoint folder of the identity's tree
// (optional endpoints left out), each for the endpoint's DNS name, issued
// by ca: what an operator puts on the share for Start-SecretRotation. It
// returns the files written, relative to Dir with forward slashes.
func (ca *CA) WriteExternal(o ExternalOptions) ([]string, error) {
	if o.Identity == "" {
		o.Identity = certcheck.ADFS
	}
	if o.FlawFolder == "" {
		o.FlawFolder = DefaultFlawFolder
	}
	found := false
	var files []string
	for _, ep := range certcheck.Endpoints(o.Identity) {
		if ep.Optional {
			continue
		}
		flawed := strings.EqualFold(ep.Folder, o.FlawFolder)
		found = found || flawed
		if o.Only && !flawed {
			continue
		}
		dir := filepath.Join(o.Dir, string(o.Identity), ep.Folder)
		if flawed && o.Layout == LayoutMissingFolder {
			if err := os.RemoveAll(dir); err != nil {
				return nil, err
			}
			continue
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		opts := PFXOptions{Hosts: []string{ep.Host(o.Region, o.FQDN)}, Now: o.Now, Password: o.Password}
		if flawed {
			opts.Flaw = o.Flaw
		}
		names := []string{FileName(ep.Folder)}
		if flawed && o.Layout == LayoutExtraPFX {
			names = append(names, "old-"+FileName(ep.Folder))
		}
		for _, name := range names {
			data, err := ca.IssuePFX(opts)
			if err != nil {
				return nil, err
			}
			if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
				return nil, err
			}
			files = append(files, string(o.Identity)+"/"+ep.Folder+"/"+name)
		}
	}
	if !found && (o.Flaw != FlawNone || o.Layout != "" || o.Only) {
		return nil, fmt.Errorf("certs: %q is not an endpoint folder of the %s tree", o.FlawFolder, o.Identity)
	}
	return files, nil
}
