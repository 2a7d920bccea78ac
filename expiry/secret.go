package expiry

import (
	"math"
	"sort"
	"time"
)

// Source says where an expiry date was read.
type Source string

// The sources of expiry dates.
const (
	// SourceAlert is an expiration alert the stamp raised (a date it names,
	// or the latest its severity allows).
	SourceAlert Source = "alert"
	// SourceProductSecret is a value-add resource provider's secret
	// (properties.secretState.expirationDate).
	SourceProductSecret Source = "product secret expirationDate"
	// SourceStampInformation is Get-AzureStackStampInformation on the PEP.
	SourceStampInformation Source = "stamp information"
	// SourceTLS is the certificate an endpoint serves.
	SourceTLS Source = "TLS certificate"
)

// Group names what a secret is for the steps that rotate it.
type Group string

// The stamp's own secrets: Start-SecretRotation rotates the external ones,
// Start-SecretRotation -Internal the internal ones (and, since 2108, the
// root CA and the service account passwords).
const (
	GroupExternal Group = "stamp:external"
	GroupInternal Group = "stamp:internal"
)

// ProductGroup is the group of a value-add resource provider's secret.
func ProductGroup(productID, secretName string) Group {
	return Group("product:" + lower(productID) + "/" + lower(secretName))
}

// Secret is one row of the radar.
type Secret struct {
	// Block is the hub or pep block it was read through (hub.local).
	Block string `json:"block"`
	// Group says which steps rotate it.
	Group Group `json:"group"`
	// What is the secret in words ("certificate aseh-ssl-gateway-pfx").
	What string `json:"what"`
	// Where is where it lives ("microsoft.eventhub.1.2003.0.0").
	Where string `json:"where"`
	// Expires is when it expires; when Exact is false, the latest date the
	// source allows (an alert that names no date).
	Expires time.Time `json:"expires"`
	Exact   bool      `json:"exact"`
	Source  Source    `json:"source"`
	// Detail says more about the source (the alert's severity, the
	// endpoint).
	Detail string `json:"detail,omitempty"`
	// RotatedBy are the steps that would rotate it, sorted.
	RotatedBy []string `json:"rotated_by"`
}

// DaysLeft is the whole days from now until the secret expires, counted
// from the nearest hour (so that seconds spent reading do not make a day),
// negative once it has expired.
func (s Secret) DaysLeft(now time.Time) int {
	return int(math.Floor(s.Expires.Sub(now).Round(time.Hour).Hours() / 24))
}

// Sort orders secrets by deadline, then by block and what they are.
func Sort(secrets []Secret) {
	sort.SliceStable(secrets, func(i, j int) bool {
		a, b := secrets[i], secrets[j]
		if !a.Expires.Equal(b.Expires) {
			return a.Expires.Before(b.Expires)
		}
		if a.Block != b.Block {
			return a.Block < b.Block
		}
		return a.What < b.What
	})
}

// Within returns the secrets that expire before now+horizon.
func Within(secrets []Secret, now time.Time, horizon time.Duration) []Secret {
	var out []Secret
	for _, s := range secrets {
		if s.Expires.Before(now.Add(horizon)) {
			out = append(out, s)
		}
	}
	return out
}
