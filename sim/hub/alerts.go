package hub

import (
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The stamp's own secrets, which Start-SecretRotation on the PEP rotates
// (external certificates; internal certificates and service account
// passwords with -Internal), and the alerts the stamp raises before they
// expire (stamp-health.md §1).
const (
	InfraExternalCertificates = "ExternalCertificates"
	InfraInternalCertificates = "InternalCertificates"
	InfraServiceAccounts      = "ServiceAccountPasswords"
)

// Alert thresholds: a warning 90 days before expiry, a critical alert 30
// days before (the documented rule since 2108).
const (
	AlertWarningBefore  = 90 * day
	AlertCriticalBefore = 30 * day
)

// InfraSecret places one kind of the stamp's own secrets in a scenario.
type InfraSecret struct {
	// Kind is InfraExternalCertificates, InfraInternalCertificates or
	// InfraServiceAccounts.
	Kind string `json:"kind"`
	// ExpiresIn places the secrets' earliest expiry relative to the clock
	// when the stamp is created.
	ExpiresIn time.Duration `json:"expiresIn"`
}

// InfraSecretState is the live state of one kind of the stamp's secrets.
type InfraSecretState struct {
	Kind           string    `json:"kind"`
	ExpirationDate time.Time `json:"expirationDate"`
	// Rotations counts rotations that renewed them.
	Rotations int `json:"rotations"`
}

// AlertState is an alert the stamp raised.
type AlertState struct {
	ID          string    `json:"id"`
	Kind        string    `json:"kind"`
	Severity    string    `json:"severity"`
	State       string    `json:"state"`
	Created     time.Time `json:"created"`
	LastUpdated time.Time `json:"lastUpdated"`
	Closed      time.Time `json:"closed,omitempty"`
	// Expires is the expiry the alert warns of.
	Expires time.Time `json:"expires"`
}

// infraAlert describes the alert of each kind of secret.
var infraAlert = map[string]struct{ title, faultType, what, remedy string }{
	InfraExternalCertificates: {"Pending external certificate expiration", "CertificateExpiration.ExternalCert",
		"external certificates", "Rotate the external certificates with Start-SecretRotation on the privileged endpoint."},
	InfraInternalCertificates: {"Pending internal certificate expiration", "CertificateExpiration.InternalCert",
		"internal certificates", "Rotate the internal secrets with Start-SecretRotation -Internal on the privileged endpoint."},
	InfraServiceAccounts: {"Pending service account password expiration", "ServiceAccountPasswordExpiration",
		"service account passwords", "Rotate the internal secrets with Start-SecretRotation -Internal on the privileged endpoint."},
}

// defaultInfra are the stamp's own secrets in the documented scenarios:
// well beyond the 90-day warning.
func defaultInfra() []InfraSecret {
	return []InfraSecret{
		{Kind: InfraExternalCertificates, ExpiresIn: 400 * day},
		{Kind: InfraInternalCertificates, ExpiresIn: 500 * day},
		{Kind: InfraServiceAccounts, ExpiresIn: 300 * day},
	}
}

// settleAlerts raises, escalates and closes the expiry alerts as of now:
// one alert per kind of secret and expiry date, a warning within 90 days, a
// critical alert within 30; a secret renewed past the threshold closes its
// alert. It reports whether anything changed.
func (st *State) settleAlerts(now time.Time) bool {
	changed := false
	for _, is := range st.Infrastructure {
		left := is.ExpirationDate.Sub(now)
		severity := ""
		switch {
		case left <= AlertCriticalBefore:
			severity = "Critical"
		case left <= AlertWarningBefore:
			severity = "Warning"
		}
		var open *AlertState
		for i := range st.Alerts {
			a := &st.Alerts[i]
			if a.Kind != is.Kind || a.State != "Active" {
				continue
			}
			if severity == "" || !a.Expires.Equal(is.ExpirationDate) {
				a.State, a.Closed, a.LastUpdated = "Closed", now, now
				changed = true
				continue
			}
			open = a
		}
		switch {
		case severity == "":
		case open == nil:
			st.Alerts = append(st.Alerts, AlertState{
				ID: guidFor("alert", is.Kind, is.ExpirationDate.Format(time.RFC3339), severity), Kind: is.Kind,
				Severity: severity, State: "Active", Created: now, LastUpdated: now, Expires: is.ExpirationDate,
			})
			changed = true
		case open.Severity != severity:
			open.Severity, open.LastUpdated = severity, now
			changed = true
		}
	}
	return changed
}

// RotateInfrastructure renews the stamp's own secrets as a completed
// Start-SecretRotation does: the external certificates, or (internal) the
// internal certificates and service account passwords, valid until
// notAfter. Their alerts close.
func (s *Server) RotateInfrastructure(internal bool, notAfter time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.st.Infrastructure {
		is := &s.st.Infrastructure[i]
		if (is.Kind == InfraExternalCertificates) != internal {
			is.ExpirationDate = notAfter.UTC()
			is.Rotations++
		}
	}
	s.st.settleAlerts(s.clock.Now())
	s.saveErr = s.saveLocked()
}

// alertJSON is Microsoft.InfrastructureInsights.Admin's Alert resource
// (Alert.json), with the empty strings the examples show on open alerts.
type alertJSON struct {
	ID         string          `json:"id"`
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	Location   string          `json:"location"`
	Tags       map[string]any  `json:"tags"`
	Properties alertProperties `json:"properties"`
}

type alertProperties struct {
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
	ResourceRegistrationID      string              `json:"resourceRegistrationId"`
	ResourceProviderRegID       string              `json:"resourceProviderRegistrationId"`
	AlertProperties             map[string]string   `json:"alertProperties"`
	Description                 []map[string]string `json:"description"`
	Remediation                 []map[string]string `json:"remediation"`
}

// alertTime is the alerts' timestamp format: six fractional digits.
func alertTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05.000000Z")
}

func (s *Server) alertJSON(sub string, a AlertState) alertJSON {
	info := infraAlert[a.Kind]
	region := s.opts.Region
	prefix := "/subscriptions/" + sub + "/resourceGroups/System." + region +
		"/providers/Microsoft.InfrastructureInsights.Admin/regionHealths/" + region + "/alerts/"
	days := int(a.Expires.Sub(a.Created) / day)
	return alertJSON{
		ID: prefix + a.ID, Name: a.ID, Type: "Microsoft.InfrastructureInsights.Admin/regionHealths/alerts",
		Location: region, Tags: map[string]any{},
		Properties: alertProperties{
			AlertID: a.ID, Title: info.title, State: a.State, Severity: a.Severity,
			FaultID:              "CertificateExpiration:/" + a.Kind,
			FaultTypeID:          info.faultType + "." + a.Severity,
			CreatedTimestamp:     alertTime(a.Created),
			LastUpdatedTimestamp: alertTime(a.LastUpdated),
			ClosedTimestamp:      alertTime(a.Closed),
			ImpactedResourceID: "/subscriptions/" + sub + "/resourceGroups/system." + region +
				"/providers/Microsoft.Fabric.Admin/fabricLocations/" + region,
			ImpactedResourceDisplayName: region,
			AlertProperties:             map[string]string{"expirationDate": a.Expires.UTC().Format(time.RFC3339)},
			Description: []map[string]string{{"type": "Text", "text": "The " + info.what + " of this Azure Stack Hub expire in " +
				strconv.Itoa(days) + " days, on " + a.Expires.UTC().Format("2006-01-02") + "."}},
			Remediation: []map[string]string{
				{"type": "Text", "text": info.remedy + " See "},
				{"type": "LinkBegin", "linkType": "Uri", "uri": "https://aka.ms/azurestackrotatesecrets", "resourceId": ""},
				{"type": "Text", "text": "https://aka.ms/azurestackrotatesecrets"},
				{"type": "LinkEnd"},
				{"type": "Text", "text": "."},
			},
		},
	}
}

// alertsAPIVersions are InfrastructureInsights.Admin's api-versions.
var alertsAPIVersions = []string{"2016-05-01"}

// location is an ARM location (GET /subscriptions/{id}/locations).
type location struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	DisplayName string `json:"displayName"`
}

// routeHealth serves /subscriptions/{sub}/locations and the alerts under
// resourceGroups/System.{region}/providers/Microsoft.InfrastructureInsights.Admin/regionHealths/{region};
// it reports whether the path was one of them.
func (s *Server) routeHealth(w http.ResponseWriter, r *http.Request, sub string, segs, low []string) bool {
	if len(low) == 3 && low[2] == "locations" {
		if allowMethod(w, r, http.MethodGet) && checkAPIVersion(w, r, "locations", subscriptionAPIVersions) {
			region := s.opts.Region
			writeList(w, r, []location{{ID: "/subscriptions/" + sub + "/locations/" + region, Name: region, DisplayName: region}}, 0)
		}
		return true
	}
	if len(low) < 9 || low[2] != "resourcegroups" || low[4] != "providers" ||
		low[5] != "microsoft.infrastructureinsights.admin" || low[6] != "regionhealths" || low[8] != "alerts" {
		return false
	}
	region := strings.ToLower(s.opts.Region)
	if low[3] != "system."+region || low[7] != region {
		writeARMError(w, http.StatusNotFound, "ResourceNotFound", "The region health '%s' in resource group '%s' was not found.", segs[7], segs[3])
		return true
	}
	if !allowMethod(w, r, http.MethodGet) || !checkAPIVersion(w, r, "regionHealths/alerts", alertsAPIVersions) {
		return true
	}
	s.mu.Lock()
	s.settleLocked()
	if s.st.settleAlerts(s.clock.Now()) {
		s.saveErr = s.saveLocked()
	}
	alerts := slices.Clone(s.st.Alerts)
	s.mu.Unlock()
	if len(segs) == 10 {
		for _, a := range alerts {
			if strings.EqualFold(a.ID, segs[9]) {
				writeJSON(w, http.StatusOK, s.alertJSON(sub, a))
				return true
			}
		}
		writeARMError(w, http.StatusNotFound, "ResourceNotFound", "The alert '%s' was not found.", segs[9])
		return true
	}
	if len(segs) != 9 {
		writeARMError(w, http.StatusNotFound, "InvalidResourceType", "The resource type could not be found for path '%s'.", r.URL.Path)
		return true
	}
	filter := parseAlertFilter(r.URL.Query().Get("$filter"))
	var out []alertJSON
	// Newest first, as the portal lists them.
	for i := len(alerts) - 1; i >= 0; i-- {
		if filter.match(alerts[i]) {
			out = append(out, s.alertJSON(sub, alerts[i]))
		}
	}
	writeList(w, r, out, s.opts.PageSize)
	return true
}

// alertFilter is the part of OData $filter the stamp applies: equality on
// Properties/State and Properties/Severity joined with "and". Anything
// else is ignored, as clients must filter again anyway.
type alertFilter map[string]string

var reFilterEq = regexp.MustCompile(`(?i)properties/(state|severity)\s+eq\s+'([^']*)'`)

func parseAlertFilter(f string) alertFilter {
	out := alertFilter{}
	for _, m := range reFilterEq.FindAllStringSubmatch(f, -1) {
		out[strings.ToLower(m[1])] = m[2]
	}
	return out
}

func (f alertFilter) match(a AlertState) bool {
	if v, ok := f["state"]; ok && !strings.EqualFold(v, a.State) {
		return false
	}
	if v, ok := f["severity"]; ok && !strings.EqualFold(v, a.Severity) {
		return false
	}
	return true
}
