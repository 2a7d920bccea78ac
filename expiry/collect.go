package expiry

import (
	"context"
	"crypto/x509"
	"fmt"
	"strings"
	"time"

	"github.com/runbook-dev/runbook/hub"
	"github.com/runbook-dev/runbook/pep"
)

// Hub is what the radar reads of a stamp's admin ARM endpoint; *hub.Client
// implements it.
type Hub interface {
	ListProductDeployments(ctx context.Context) ([]hub.ProductDeployment, error)
	ListProductSecrets(ctx context.Context, packageID string) ([]hub.ProductSecret, error)
	ListAlerts(ctx context.Context, f hub.AlertFilter) ([]hub.Alert, error)
	ServedCertificate(ctx context.Context) (*x509.Certificate, error)
	Endpoint() string
}

var _ Hub = (*hub.Client)(nil)

// PEP is what the radar asks a privileged endpoint; pep.Session implements
// it.
type PEP interface {
	Invoke(ctx context.Context, call pep.Call) (pep.Result, error)
}

var _ PEP = pep.Session(nil)

// ReadHub reads every expiry a hub shows: the secrets of every deployed
// value-add resource provider, the active expiration alerts, and the
// certificate its admin endpoint serves. block names the hub block. It
// returns what it could read and the errors of the rest.
func ReadHub(ctx context.Context, block string, h Hub) ([]Secret, []error) {
	var out []Secret
	var errs []error
	deps, err := h.ListProductDeployments(ctx)
	if err != nil {
		errs = append(errs, fmt.Errorf("%s: list product deployments: %w", block, err))
	}
	for _, d := range deps {
		pkg := d.PackageID()
		if pkg == "" {
			continue
		}
		secrets, err := h.ListProductSecrets(ctx, pkg)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: list the secrets of %s: %w", block, pkg, err))
			continue
		}
		for _, s := range secrets {
			exp, ok := s.Properties.SecretState.Expiration()
			if !ok {
				continue
			}
			out = append(out, Secret{
				Block: block, Group: ProductGroup(d.ProductID(), s.SecretName()),
				What:  strings.ToLower(s.Properties.SecretKind) + " " + s.SecretName(),
				Where: pkg, Expires: exp, Exact: true, Source: SourceProductSecret,
				Detail: "status " + s.Properties.SecretState.Status,
			})
		}
	}
	alerts, err := h.ListAlerts(ctx, hub.AlertFilter{State: "Active"})
	if err != nil {
		errs = append(errs, fmt.Errorf("%s: list alerts: %w", block, err))
	}
	for _, a := range alerts {
		kind := a.ExpiryKind()
		if kind == "" || !a.Active() {
			continue
		}
		exp, exact, ok := a.Expires()
		if !ok {
			continue
		}
		group := GroupInternal
		if kind == hub.ExpiryExternalCertificates {
			group = GroupExternal
		}
		detail := strings.ToLower(a.Properties.Severity) + " alert " + a.Name
		if !exact {
			detail += "; it names no date: the latest its severity allows"
		}
		out = append(out, Secret{
			Block: block, Group: group, What: kind, Where: "stamp",
			Expires: exp, Exact: exact, Source: SourceAlert, Detail: detail,
		})
	}
	cert, err := h.ServedCertificate(ctx)
	if err != nil {
		errs = append(errs, fmt.Errorf("%s: read the served certificate: %w", block, err))
	} else {
		out = append(out, Secret{
			Block: block, Group: GroupExternal, What: "external certificate " + cert.Subject.CommonName,
			Where: h.Endpoint(), Expires: cert.NotAfter.UTC(), Exact: true, Source: SourceTLS,
			Detail: "served by " + h.Endpoint(),
		})
	}
	return out, errs
}

// ReadPEP reads the root CA's expiry from Get-AzureStackStampInformation:
// the latest NotAfter of RootCACertificates.
func ReadPEP(ctx context.Context, block string, p PEP) ([]Secret, error) {
	res, err := p.Invoke(ctx, pep.Call{Cmdlet: "Get-AzureStackStampInformation"})
	if err != nil {
		return nil, fmt.Errorf("%s: Get-AzureStackStampInformation: %w", block, err)
	}
	var latest time.Time
	for _, o := range res.Objects() {
		m, ok := o.(map[string]any)
		if !ok {
			continue
		}
		for _, root := range list(field(m, "RootCACertificates")) {
			rm, ok := root.(map[string]any)
			if !ok {
				continue
			}
			if t, ok := timeOf(field(rm, "NotAfter")); ok && t.After(latest) {
				latest = t
			}
		}
	}
	if latest.IsZero() {
		return nil, nil
	}
	return []Secret{{
		Block: block, Group: GroupInternal, What: "root CA certificate", Where: "stamp",
		Expires: latest.UTC(), Exact: true, Source: SourceStampInformation,
		Detail: "RootCACertificates via Get-AzureStackStampInformation",
	}}, nil
}

// field returns m's value for key, case-insensitively (builds differ in
// casing: AADTenantID and AadTenantId).
func field(m map[string]any, key string) any {
	if v, ok := m[key]; ok {
		return v
	}
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v
		}
	}
	return nil
}

func list(v any) []any {
	switch l := v.(type) {
	case []any:
		return l
	case nil:
		return nil
	}
	return []any{v}
}

func timeOf(v any) (time.Time, bool) {
	switch t := v.(type) {
	case time.Time:
		return t, !t.IsZero()
	case string:
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.9999999", "1/2/2006 3:04:05 PM"} {
			if p, err := time.Parse(layout, t); err == nil {
				return p, true
			}
		}
	}
	return time.Time{}, false
}

func lower(s string) string { return strings.ToLower(s) }
