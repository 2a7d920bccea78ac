package hub

import (
	"context"
	"crypto/x509"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// AlertsAPIVersion is Microsoft.InfrastructureInsights.Admin's only
// api-version.
const AlertsAPIVersion = "2016-05-01"

// Alert is an admin alert of Microsoft.InfrastructureInsights.Admin: what
// the portal's Alerts blade shows.
type Alert struct {
	ID         string          `json:"id"`
	Name       string          `json:"name"`
	Properties AlertProperties `json:"properties"`
}

// AlertProperties are an alert's properties (Alert.json). Timestamps are
// strings, empty on open alerts where the spec's examples leave them empty.
type AlertProperties struct {
	AlertID                     string              `json:"alertId"`
	Title                       string              `json:"title"`
	State                       string              `json:"state"`
	Severity                    string              `json:"severity"`
	FaultID                     string              `json:"faultId"`
	FaultTypeID                 string              `json:"faultTypeId"`
	CreatedTimestamp            string              `json:"createdTimestamp"`
	LastUpdatedTimestamp        string              `json:"lastUpdatedTimestamp"`
	ClosedTimestamp             string              `json:"closedTimestamp"`
	ClosedByUserAlias           string              `json:"closedByUserAlias"`
	ImpactedResourceID          string              `json:"impactedResourceId"`
	ImpactedResourceDisplayName string              `json:"impactedResourceDisplayName"`
	AlertProperties             map[string]string   `json:"alertProperties"`
	Description                 []map[string]string `json:"description"`
	Remediation                 []map[string]string `json:"remediation"`
}

// Active reports whether the alert is open (state "Active", any case).
func (a Alert) Active() bool { return strings.EqualFold(a.Properties.State, "Active") }

// Created returns the alert's creation time.
func (a Alert) Created() (time.Time, bool) { return parseARMTime(a.Properties.CreatedTimestamp) }

// Description returns the alert's description as text: the text runs in
// order, links reduced to their text.
func (a Alert) Description() string { return richText(a.Properties.Description) }

func richText(runs []map[string]string) string {
	var b strings.Builder
	for _, r := range runs {
		if strings.EqualFold(r["type"], "Text") {
			b.WriteString(r["text"])
		}
	}
	return b.String()
}

// AlertFilter selects alerts; empty fields match everything. The stamp may
// or may not apply the filter, so ListAlerts applies it again.
type AlertFilter struct {
	// State is "Active" or "Closed".
	State string
	// Severity is "Warning" or "Critical".
	Severity string
}

func (f AlertFilter) odata() string {
	var parts []string
	if f.State != "" {
		parts = append(parts, "(Properties/State eq '"+f.State+"')")
	}
	if f.Severity != "" {
		parts = append(parts, "(Properties/Severity eq '"+f.Severity+"')")
	}
	return strings.Join(parts, " and ")
}

func (f AlertFilter) match(a Alert) bool {
	return (f.State == "" || strings.EqualFold(f.State, a.Properties.State)) &&
		(f.Severity == "" || strings.EqualFold(f.Severity, a.Properties.Severity))
}

// Region returns the stamp's region (location): the label after
// "adminmanagement." in the endpoint's host name, or else the one location
// the Default Provider Subscription lists.
func (c *Client) Region(ctx context.Context) (string, error) {
	labels := strings.Split(c.endpoint.Hostname(), ".")
	if len(labels) > 2 && strings.EqualFold(labels[0], "adminmanagement") {
		return labels[1], nil
	}
	sub, err := c.SubscriptionID(ctx)
	if err != nil {
		return "", err
	}
	type location struct {
		Name string `json:"name"`
	}
	const op = "list locations"
	locs, err := listAll[location](ctx, c, op, c.base+"/subscriptions/"+url.PathEscape(sub)+"/locations?api-version=2016-06-01")
	if err != nil {
		return "", err
	}
	if len(locs) == 0 || locs[0].Name == "" {
		return "", &Error{Stamp: c.stamp, Op: op, Message: "the stamp lists no location"}
	}
	return locs[0].Name, nil
}

// ListAlerts lists the stamp's alerts, every page, newest first as the
// stamp returns them, keeping those f selects.
func (c *Client) ListAlerts(ctx context.Context, f AlertFilter) ([]Alert, error) {
	sub, err := c.SubscriptionID(ctx)
	if err != nil {
		return nil, err
	}
	region, err := c.Region(ctx)
	if err != nil {
		return nil, err
	}
	u := c.base + "/subscriptions/" + url.PathEscape(sub) + "/resourceGroups/" + url.PathEscape("System."+region) +
		"/providers/Microsoft.InfrastructureInsights.Admin/regionHealths/" + url.PathEscape(region) +
		"/alerts?api-version=" + AlertsAPIVersion
	if q := f.odata(); q != "" {
		u += "&$filter=" + url.QueryEscape(q)
	}
	all, err := listAll[Alert](ctx, c, "list alerts", u)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, a := range all {
		if f.match(a) {
			out = append(out, a)
		}
	}
	return out, nil
}

// Expiry kinds: what an expiration alert warns of.
const (
	ExpiryExternalCertificates = "external certificates"
	ExpiryInternalCertificates = "internal certificates"
	ExpiryServiceAccounts      = "service account passwords"
)

// ExpiryKind returns what an expiration alert warns of, matched on the
// documented titles and on the faultTypeId prefix, or "" for any other
// alert.
func (a Alert) ExpiryKind() string {
	t, ft := strings.ToLower(a.Properties.Title), strings.ToLower(a.Properties.FaultTypeID)
	switch {
	case strings.Contains(t, "external certificate expiration") || strings.HasPrefix(ft, "certificateexpiration.externalcert"):
		return ExpiryExternalCertificates
	case strings.Contains(t, "internal certificate expiration") || strings.HasPrefix(ft, "certificateexpiration.internalcert"):
		return ExpiryInternalCertificates
	case strings.Contains(t, "service account password expiration"):
		return ExpiryServiceAccounts
	}
	return ""
}

var reDate = regexp.MustCompile(`\b(\d{4}-\d\d-\d\d)(T\d\d:\d\d:\d\d(\.\d+)?Z)?\b`)

// Expires returns the expiry an expiration alert names: the
// alertProperties' expirationDate, or a date in its description. Neither is
// documented, so exact is false when the alert names none and the date is
// the latest the thresholds allow: 30 days after a critical alert was
// raised, 90 days after a warning.
func (a Alert) Expires() (t time.Time, exact bool, ok bool) {
	for k, v := range a.Properties.AlertProperties {
		if strings.EqualFold(k, "expirationDate") {
			if t, ok := parseARMTime(v); ok {
				return t, true, true
			}
		}
	}
	if m := reDate.FindString(a.Description()); m != "" {
		if t, ok := parseARMTime(m); ok {
			return t, true, true
		}
		if t, err := time.Parse("2006-01-02", m); err == nil {
			return t, true, true
		}
	}
	created, ok := a.Created()
	if !ok {
		return time.Time{}, false, false
	}
	if strings.EqualFold(a.Properties.Severity, "Critical") {
		return created.Add(30 * 24 * time.Hour), false, true
	}
	return created.Add(90 * 24 * time.Hour), false, true
}

// ServedCertificate returns the TLS certificate the stamp's admin endpoint
// serves (the leaf of the chain it presented), read from an
// unauthenticated request to its metadata endpoint: the external
// certificate of admin ARM as clients see it.
func (c *Client) ServedCertificate(ctx context.Context) (*x509.Certificate, error) {
	const op = "read the served certificate"
	resp, err := c.send(ctx, request{op: op, method: http.MethodGet, anonymous: true,
		url: c.base + "/metadata/endpoints?api-version=2015-01-01"})
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.TLS == nil || len(resp.TLS.PeerCertificates) == 0 {
		return nil, &Error{Stamp: c.stamp, Op: op, Message: "the connection carried no TLS certificate"}
	}
	return resp.TLS.PeerCertificates[0], nil
}

// Endpoint returns the stamp's admin endpoint URL as configured.
func (c *Client) Endpoint() string { return c.base }
