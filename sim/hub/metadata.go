package hub

import (
	"net/http"
	"strings"
)

// loginEndpoint is the login endpoint for a stamp reached at base: the same
// host, or, when the client reached ARM by its stamp name
// (adminmanagement.<region>.<fqdn>), the identity provider's name in the
// same domain (adfs.… or login.…), which the server certificate also
// covers. AD FS endpoints end in /adfs/, the rule clients use to detect AD
// FS.
func loginEndpoint(base string, style IdentityStyle) string {
	if base == "" {
		return ""
	}
	host := strings.TrimPrefix(base, "https://")
	if rest, ok := strings.CutPrefix(strings.ToLower(host), "adminmanagement."); ok {
		if style == ADFS {
			host = "adfs." + rest
		} else {
			host = "login." + rest
		}
	}
	if style == ADFS {
		return "https://" + host + "/adfs/"
	}
	return "https://" + host + "/"
}

// metadata is the body of GET /metadata/endpoints.
type metadata struct {
	GalleryEndpoint string        `json:"galleryEndpoint"`
	GraphEndpoint   string        `json:"graphEndpoint"`
	PortalEndpoint  string        `json:"portalEndpoint"`
	Authentication  metadataAuthN `json:"authentication"`
}

type metadataAuthN struct {
	LoginEndpoint string   `json:"loginEndpoint"`
	Audiences     []string `json:"audiences"`
}

// handleMetadata serves the unauthenticated endpoint discovery document.
func (s *Server) handleMetadata(w http.ResponseWriter, r *http.Request) {
	if !allowMethod(w, r, http.MethodGet) || !checkAPIVersion(w, r, "metadata", metadataAPIVersions) {
		return
	}
	domain := s.opts.Region + "." + s.opts.ExternalFQDN
	writeJSON(w, http.StatusOK, metadata{
		GalleryEndpoint: "https://adminportal." + domain + ":30015/",
		GraphEndpoint:   s.opts.graphAudience(),
		PortalEndpoint:  "https://adminportal." + domain + "/",
		Authentication: metadataAuthN{
			LoginEndpoint: loginEndpoint(baseURL(r), s.opts.Identity),
			Audiences:     []string{s.opts.Audience},
		},
	})
}

// subscription is one item of GET /subscriptions.
type subscription struct {
	ID                   string             `json:"id"`
	SubscriptionID       string             `json:"subscriptionId"`
	TenantID             string             `json:"tenantId,omitempty"`
	DisplayName          string             `json:"displayName"`
	State                string             `json:"state"`
	SubscriptionPolicies subscriptionPolicy `json:"subscriptionPolicies"`
}

type subscriptionPolicy struct {
	LocationPlacementID string `json:"locationPlacementId"`
	QuotaID             string `json:"quotaId"`
	SpendingLimit       string `json:"spendingLimit"`
}

// DefaultProviderSubscription is the display name of the subscription that
// holds the stamp's admin resources.
const DefaultProviderSubscription = "Default Provider Subscription"

// subscriptions lists the admin subscriptions every stamp has, Default
// Provider Subscription first.
func (s *Server) subscriptions() []subscription {
	var out []subscription
	for _, name := range []string{DefaultProviderSubscription, "Metering Subscription", "Consumption Subscription"} {
		id := guidFor("subscription", name, s.opts.Region, s.opts.ExternalFQDN)
		sub := subscription{
			ID: "/subscriptions/" + id, SubscriptionID: id, DisplayName: name, State: "Enabled",
			SubscriptionPolicies: subscriptionPolicy{LocationPlacementID: "AzureStack", QuotaID: "Default", SpendingLimit: "Off"},
		}
		if s.opts.Identity == Entra {
			sub.TenantID = s.opts.TenantID
		}
		out = append(out, sub)
	}
	return out
}

func (s *Server) defaultSubscription() subscription { return s.subscriptions()[0] }

// routeSubscriptions serves /subscriptions[/{id}[/providers/…]] for an
// authorized request.
func (s *Server) routeSubscriptions(w http.ResponseWriter, r *http.Request, segs, low []string) {
	if len(segs) == 1 {
		if allowMethod(w, r, http.MethodGet) && checkAPIVersion(w, r, "subscriptions", subscriptionAPIVersions) {
			writeList(w, r, s.subscriptions(), s.opts.PageSize)
		}
		return
	}
	var sub *subscription
	all := s.subscriptions()
	for i := range all {
		if strings.EqualFold(all[i].SubscriptionID, segs[1]) {
			sub = &all[i]
		}
	}
	if sub == nil {
		writeARMError(w, http.StatusNotFound, "SubscriptionNotFound", "The subscription '%s' could not be found.", segs[1])
		return
	}
	if len(segs) == 2 {
		if allowMethod(w, r, http.MethodGet) && checkAPIVersion(w, r, "subscriptions", subscriptionAPIVersions) {
			writeJSON(w, http.StatusOK, sub)
		}
		return
	}
	if len(low) >= 6 && low[2] == "providers" && low[3] == "microsoft.deployment.admin" && low[4] == "locations" {
		if sub.DisplayName != DefaultProviderSubscription {
			writeARMError(w, http.StatusNotFound, "ResourceNotFound",
				"Microsoft.Deployment.Admin resources exist only in the %s.", DefaultProviderSubscription)
			return
		}
		if !validLocation(low[5], low[6:]) {
			writeARMError(w, http.StatusNotFound, "LocationNotFound",
				"The location '%s' is not available for Microsoft.Deployment.Admin; use 'global'.", segs[5])
			return
		}
		s.routeDeploymentAdmin(w, r, segs[6:], low[6:])
		return
	}
	if s.routeHealth(w, r, sub.SubscriptionID, segs, low) {
		return
	}
	writeARMError(w, http.StatusNotFound, "InvalidResourceType",
		"The resource type could not be found in the namespace for path '%s'.", r.URL.Path)
}
