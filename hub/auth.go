package hub

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/runbook-dev/runbook/internal/boundedread"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"software.sslmate.com/src/go-pkcs12"
)

// credentialFactory builds azidentity credentials for one stamp. Building a
// new credential is how the token policy gets past the credential's own
// token cache (see tokenSource.renew).
type credentialFactory struct {
	build func() (azcore.TokenCredential, error)
	// fresh is true when each built credential starts with an empty token
	// cache, so building one forces a new token from the identity provider.
	// It is false for device_code (a new credential would prompt the
	// operator again) and azure_cli (which keeps no cache of its own).
	fresh bool
	// claims is true when a renewal should pass a claims challenge, which
	// makes MSAL skip its cached access token and redeem the refresh token
	// instead (device_code: no new prompt while the refresh token lasts).
	claims bool
}

// newCredentialFactory prepares the credential of cfg.Auth against the
// stamp's identity provider described by meta. Files are read and
// certificates parsed here, once, so mistakes surface in New.
func newCredentialFactory(cfg *Config, stamp string, meta Metadata, hc *http.Client, perCall, perTry []policy.Policy) (credentialFactory, error) {
	a := cfg.Auth
	opts := azcore.ClientOptions{
		// The authority is the stamp's login host. Instance discovery is
		// off below: it would call login.microsoftonline.com, which a
		// disconnected stamp cannot reach.
		Cloud:            cloud.Configuration{ActiveDirectoryAuthorityHost: meta.AuthorityHost},
		Transport:        hc,
		Retry:            policy.RetryOptions{MaxRetries: -1}, // ours runs on the clock
		PerCallPolicies:  perCall,
		PerRetryPolicies: perTry,
		Telemetry:        policy.TelemetryOptions{ApplicationID: "runbook"},
	}
	fail := func(err error) (credentialFactory, error) {
		return credentialFactory{}, fmt.Errorf("hub %s: auth %s: %w", stamp, a.Method, err)
	}
	switch a.Method {
	case AuthClientSecret:
		secret := a.ClientSecret.Reveal()
		return credentialFactory{fresh: true, build: func() (azcore.TokenCredential, error) {
			return azidentity.NewClientSecretCredential(meta.Tenant, a.ClientID, secret,
				&azidentity.ClientSecretCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: true})
		}}, nil
	case AuthClientCertificate:
		certs, key, err := loadCertificate(a)
		if err != nil {
			return fail(err)
		}
		return credentialFactory{fresh: true, build: func() (azcore.TokenCredential, error) {
			return azidentity.NewClientCertificateCredential(meta.Tenant, a.ClientID, certs, key,
				&azidentity.ClientCertificateCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: true})
		}}, nil
	case AuthDeviceCode:
		w := a.Prompt
		if w == nil {
			w = os.Stderr
		}
		cred, err := azidentity.NewDeviceCodeCredential(&azidentity.DeviceCodeCredentialOptions{
			ClientOptions:            opts,
			TenantID:                 meta.Tenant,
			ClientID:                 a.ClientID,
			DisableInstanceDiscovery: true,
			UserPrompt: func(_ context.Context, m azidentity.DeviceCodeMessage) error {
				_, err := fmt.Fprintf(w, "hub %s: %s\n", stamp, m.Message)
				return err
			},
		})
		if err != nil {
			return fail(err)
		}
		return credentialFactory{claims: true, build: func() (azcore.TokenCredential, error) { return cred, nil }}, nil
	case AuthAzureCLI:
		cred, err := azidentity.NewAzureCLICredential(&azidentity.AzureCLICredentialOptions{TenantID: a.Tenant})
		if err != nil {
			return fail(err)
		}
		return credentialFactory{build: func() (azcore.TokenCredential, error) { return cred, nil }}, nil
	}
	return fail(errors.New("unknown method"))
}

// resolveTenant picks the tenant the credential signs in to. AD FS takes
// only "adfs", in lower case (MSAL lower-cases the authority and then
// rejects "ADFS" as a tenant); Entra needs the tenant for service
// principals.
func resolveTenant(a Auth, adfs bool) (string, error) {
	if adfs {
		if a.Tenant == "" || strings.EqualFold(a.Tenant, "adfs") {
			return "adfs", nil
		}
		return "", fmt.Errorf("auth tenant %q: the stamp signs in with AD FS, whose only tenant is \"adfs\"", a.Tenant)
	}
	if a.Tenant == "" && (a.Method == AuthClientSecret || a.Method == AuthClientCertificate) {
		return "", errors.New("auth tenant is required: the stamp signs in with Entra ID; give the directory's tenant id")
	}
	return a.Tenant, nil
}

// loadCertificate reads the client certificate and its private key from a
// PFX (PKCS#12, opened with go-pkcs12, which unlike azidentity's
// ParseCertificates also reads SHA-256 MACs and AES-encrypted bags) or from
// PEM blocks. Errors never quote the password.
func loadCertificate(a Auth) ([]*x509.Certificate, crypto.PrivateKey, error) {
	data, name := a.CertificateData, "certificate_data"
	if len(data) == 0 {
		var err error
		if data, err = boundedread.File(a.CertificateFile, boundedread.Cert); err != nil {
			return nil, nil, fmt.Errorf("certificate_file: %w", err)
		}
		name = "certificate_file " + a.CertificateFile
	}
	if bytes.Contains(data, []byte("-----BEGIN")) {
		certs, key, err := parsePEM(data)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", name, err)
		}
		return certs, key, nil
	}
	key, cert, chain, err := pkcs12.DecodeChain(data, a.CertificatePassword.Reveal())
	if err != nil {
		if errors.Is(err, pkcs12.ErrIncorrectPassword) {
			return nil, nil, fmt.Errorf("%s: the certificate password does not open the PFX", name)
		}
		return nil, nil, fmt.Errorf("%s: not a PEM or PFX file the client can open: %w", name, err)
	}
	return append([]*x509.Certificate{cert}, chain...), key, nil
}

// parsePEM reads certificates and one unencrypted private key.
func parsePEM(data []byte) ([]*x509.Certificate, crypto.PrivateKey, error) {
	var (
		certs []*x509.Certificate
		key   crypto.PrivateKey
	)
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		var err error
		switch b.Type {
		case "CERTIFICATE":
			var c *x509.Certificate
			if c, err = x509.ParseCertificate(b.Bytes); err == nil {
				certs = append(certs, c)
			}
		case "PRIVATE KEY":
			key, err = x509.ParsePKCS8PrivateKey(b.Bytes)
		case "RSA PRIVATE KEY":
			key, err = x509.ParsePKCS1PrivateKey(b.Bytes)
		case "ENCRYPTED PRIVATE KEY":
			err = errors.New("encrypted PEM private keys are not supported; use a PFX with a password")
		}
		if err != nil {
			return nil, nil, fmt.Errorf("PEM block %s: %w", b.Type, err)
		}
	}
	if len(certs) == 0 || key == nil {
		return nil, nil, errors.New("PEM needs a CERTIFICATE and an unencrypted PRIVATE KEY block")
	}
	return certs, key, nil
}
