package main

import (
	"encoding/base64"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/runbook-dev/runbook/clock"
	"github.com/runbook-dev/runbook/internal/boundedread"
	"github.com/runbook-dev/runbook/lang"
	"github.com/runbook-dev/runbook/state"
	"github.com/runbook-dev/runbook/state/azurerm"
	"github.com/runbook-dev/runbook/state/local"
)

// stateKeyEnv names the environment variable holding the runbook key when
// the state lives in a shared backend: base64 of 32 random bytes, kept as
// a CI secret and by each operator, never in the store (see docs/state.md).
const stateKeyEnv = "RUNBOOK_STATE_KEY"

// backendFor opens the state backend the runbook configures: its backend
// block, or the local .runbook directory beside it.
func backendFor(e *env, rb *lang.Runbook, target string, clk clock.Clock) (state.Backend, error) {
	if rb.Meta == nil || rb.Meta.Backend == nil {
		return local.New(stateFor(target).root), nil
	}
	b := rb.Meta.Backend
	cfg := azurerm.Config{
		Account: b.StorageAccountName, Endpoint: b.Endpoint, Container: b.ContainerName, Key: b.Key,
		AccessKey: b.AccessKey.Reveal(), SASToken: b.SASToken.Reveal(), Clock: clk, RenewEvery: leaseRenewEvery,
		SegmentBlocks: journalSegmentBlocks,
	}
	if b.CAFile != "" {
		cfg.CAFile = b.CAFile
		if !filepath.IsAbs(cfg.CAFile) {
			cfg.CAFile = filepath.Join(rb.Dir, cfg.CAFile)
		}
	}
	if b.Auth != nil {
		cred, err := backendCredential(b.Auth)
		if err != nil {
			return nil, fmt.Errorf("backend %q: %w", b.StorageAccountName, err)
		}
		cfg.Credential = cred
	}
	if v := e.getenv(stateKeyEnv); v != "" {
		k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v))
		if err != nil || len(k) != 32 {
			return nil, fmt.Errorf("%s must be the base64 of 32 random bytes (44 characters)", stateKeyEnv)
		}
		cfg.PlanKey = k
	}
	return azurerm.New(cfg)
}

// backendCredential signs in to Azure AD for the blob data plane.
func backendCredential(a *lang.HubAuth) (azcore.TokenCredential, error) {
	switch a.Method {
	case "client_secret":
		return azidentity.NewClientSecretCredential(a.Tenant, a.ClientID, a.ClientSecret.Reveal(), nil)
	case "client_certificate":
		data, err := boundedread.File(a.CertificateFile, boundedread.Cert)
		if err != nil {
			return nil, err
		}
		certs, key, err := azidentity.ParseCertificates(data, []byte(a.CertificatePassword.Reveal()))
		if err != nil {
			return nil, fmt.Errorf("certificate_file %s: %w", a.CertificateFile, err)
		}
		return azidentity.NewClientCertificateCredential(a.Tenant, a.ClientID, certs, key, nil)
	case "azure_cli":
		return azidentity.NewAzureCLICredential(&azidentity.AzureCLICredentialOptions{TenantID: a.Tenant})
	case "device_code":
		return azidentity.NewDeviceCodeCredential(&azidentity.DeviceCodeCredentialOptions{TenantID: a.Tenant, ClientID: a.ClientID})
	}
	return nil, errors.New("unknown sign-in method " + a.Method)
}

// openBackend loads the runbook at target as validate does (variables
// without a value are allowed; the backend's own arguments must be known)
// and opens its backend. Diagnostics and errors are printed.
func openBackend(e *env, target string) (state.Backend, *lang.Runbook, bool) {
	rb, diags := loadRunbook(e, target, loadOptions{validate: true, planTime: clockFor().Now()})
	if printDiags(e, rb.Files, diags) {
		return nil, nil, false
	}
	b, err := backendFor(e, rb, target, clockFor())
	if err != nil {
		fmt.Fprintf(e.stderr, "Error: %v\n", err)
		return nil, nil, false
	}
	return b, rb, true
}

// checkBackend opens the shared backend a runbook configures for plan and
// apply, nil when it keeps its state in the local .runbook directory.
// Local journals the backend does not hold are refused with the command
// that copies them: planning without them would forget their history and
// their unfinished runs.
func checkBackend(e *env, rb *lang.Runbook, target string) (state.Backend, error) {
	if rb.Meta == nil || rb.Meta.Backend == nil {
		return nil, nil
	}
	b, err := backendFor(e, rb, target, clockFor())
	if err != nil {
		return nil, err
	}
	left, err := state.Unmigrated(e.ctx, local.New(stateFor(target).root), b)
	if err != nil {
		return nil, err
	}
	if len(left) > 0 {
		return nil, fmt.Errorf("the runbook keeps its state in %s, but %d local runs are not there (%s): copy them first with '%s'",
			b, len(left), strings.Join(left, ", "), commandLine("state", "migrate", dirOf(target)))
	}
	return b, nil
}

// dirOf is the runbook directory argument to print in a command: "." when
// none was given.
func dirOf(target string) string {
	if target == "" {
		return "."
	}
	return target
}
