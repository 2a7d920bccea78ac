package hub

import (
	"crypto/subtle"
	"fmt"
	"net/http"
	"strings"
)

// serveIdentity serves the identity provider's endpoints for the configured
// style and reports whether the path was one of them.
func (s *Server) serveIdentity(w http.ResponseWriter, r *http.Request, segs, low []string) bool {
	base := baseURL(r)
	if s.opts.Identity == ADFS {
		switch strings.Join(low, "/") {
		case "adfs/.well-known/openid-configuration":
			if allowMethod(w, r, http.MethodGet) {
				writeJSON(w, http.StatusOK, adfsDiscovery(base))
			}
		case "adfs/oauth2/token":
			s.handleToken(w, r, base+"/adfs/oauth2/token/", "")
		case "adfs/discovery/keys":
			if allowMethod(w, r, http.MethodGet) {
				writeJSON(w, http.StatusOK, s.idp.jwks())
			}
		default:
			return false
		}
		return true
	}
	if len(low) != 4 {
		return false
	}
	tenant := segs[0]
	var serve func()
	switch strings.Join(low[1:], "/") {
	case "v2.0/.well-known/openid-configuration":
		serve = func() {
			if allowMethod(w, r, http.MethodGet) {
				writeJSON(w, http.StatusOK, entraDiscovery(base, tenant))
			}
		}
	case "oauth2/v2.0/token":
		serve = func() { s.handleToken(w, r, base+"/"+tenant+"/oauth2/v2.0/token", tenant) }
	case "discovery/v2.0/keys":
		serve = func() {
			if allowMethod(w, r, http.MethodGet) {
				writeJSON(w, http.StatusOK, s.idp.jwks())
			}
		}
	default:
		return false
	}
	if !strings.EqualFold(tenant, s.opts.TenantID) {
		s.oauthError(w, http.StatusBadRequest, "invalid_tenant", "", "90002",
			"Tenant '%s' not found. Check to make sure you have the correct tenant ID.", tenant)
		return true
	}
	serve()
	return true
}

// adfsDiscovery is the OpenID configuration of AD FS at base. MSAL requires
// issuer, authorization_endpoint and token_endpoint, and checks that the
// issuer's scheme and host match the authority's.
func adfsDiscovery(base string) map[string]any {
	return map[string]any{
		"issuer":                                base + "/adfs",
		"authorization_endpoint":                base + "/adfs/oauth2/authorize/",
		"token_endpoint":                        base + "/adfs/oauth2/token/",
		"jwks_uri":                              base + "/adfs/discovery/keys",
		"access_token_issuer":                   "http://" + strings.TrimPrefix(base, "https://") + "/adfs/services/trust",
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "client_secret_basic", "private_key_jwt", "windows_client_authentication"},
		"token_endpoint_auth_signing_alg_values_supported": []string{"RS256"},
		"grant_types_supported":                            []string{"authorization_code", "refresh_token", "client_credentials", "urn:ietf:params:oauth:grant-type:device_code"},
		"response_types_supported":                         []string{"code", "id_token", "code id_token", "id_token token", "code token", "code id_token token"},
		"scopes_supported":                                 []string{"openid", "profile", "email", "allatclaims", "user_impersonation", "aza"},
		"id_token_signing_alg_values_supported":            []string{"RS256"},
	}
}

// entraDiscovery is the v2.0 OpenID configuration of an Entra tenant at base.
func entraDiscovery(base, tenant string) map[string]any {
	t := base + "/" + tenant
	return map[string]any{
		"issuer":                                t + "/v2.0",
		"authorization_endpoint":                t + "/oauth2/v2.0/authorize",
		"token_endpoint":                        t + "/oauth2/v2.0/token",
		"jwks_uri":                              t + "/discovery/v2.0/keys",
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
		"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"tenant_region_scope":                   "NA",
	}
}

const jwtBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// handleToken is the client-credentials token endpoint. tokenURL is the
// endpoint's URL as discovery advertises it (a client assertion's aud);
// tenant is the Entra tenant from the path, "" for AD FS.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request, tokenURL, tenant string) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		s.oauthError(w, http.StatusMethodNotAllowed, "invalid_request", "MSIS9921", "900561",
			"The endpoint only accepts POST requests.")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		s.oauthError(w, http.StatusBadRequest, "invalid_request", "MSIS9200", "900144",
			"The request body must be application/x-www-form-urlencoded parameters.")
		return
	}
	form := r.PostForm
	if gt := form.Get("grant_type"); gt != "client_credentials" {
		s.oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "MSIS9611", "70003",
			"The grant type '%s' is not supported; this stamp issues tokens for client_credentials only.", gt)
		return
	}
	clientID := form.Get("client_id")
	if clientID == "" {
		s.oauthError(w, http.StatusBadRequest, "invalid_request", "MSIS9609", "900144",
			"The request body must contain the following parameter: 'client_id'.")
		return
	}
	var cl *Client
	for i := range s.opts.Clients {
		if strings.EqualFold(s.opts.Clients[i].ID, clientID) {
			cl = &s.opts.Clients[i]
		}
	}
	if cl == nil {
		s.oauthError(w, http.StatusBadRequest, "unauthorized_client", "MSIS9607", "700016",
			"Application with identifier '%s' was not found.", clientID)
		return
	}
	aud, ok := s.resolveAudience(form.Get("scope"), form.Get("resource"))
	if !ok {
		s.oauthError(w, http.StatusBadRequest, "invalid_resource", "MSIS9602", "500011",
			"The resource principal named '%s' was not found. Request a scope of %s/.default.",
			requestedResource(form.Get("scope"), form.Get("resource")), s.opts.Audience)
		return
	}

	secret, assertion := form.Get("client_secret"), form.Get("client_assertion")
	acr := ""
	switch {
	case secret != "" && assertion != "":
		s.oauthError(w, http.StatusBadRequest, "invalid_request", "MSIS9622", "90081",
			"Only one client authentication method may be used: client_secret or client_assertion.")
		return
	case secret != "":
		if cl.Secret == "" || subtle.ConstantTimeCompare([]byte(secret), []byte(cl.Secret)) != 1 {
			s.oauthError(w, http.StatusUnauthorized, "invalid_client", "MSIS9622", "7000215",
				"Invalid client secret provided for application '%s'.", cl.ID)
			return
		}
		acr = "1"
	case assertion != "":
		if t := form.Get("client_assertion_type"); t != jwtBearer {
			s.oauthError(w, http.StatusBadRequest, "invalid_request", "MSIS9623", "50027",
				"client_assertion_type must be '%s'.", jwtBearer)
			return
		}
		if msg := s.checkAssertion(assertion, cl, tokenURL); msg != "" {
			s.oauthError(w, http.StatusUnauthorized, "invalid_client", "MSIS9622", "700027",
				"Client assertion of application '%s' rejected: %s.", cl.ID, msg)
			return
		}
		acr = "2"
	default:
		s.oauthError(w, http.StatusUnauthorized, "invalid_client", "MSIS9622", "7000218",
			"The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
		return
	}

	now := s.clock.Now()
	c := accessClaims{
		Aud: aud, Iat: now.Unix(), Nbf: now.Unix(), Exp: now.Add(s.opts.TokenLifetime).Unix(),
		AppID: cl.ID, AppIDACR: acr, OID: guidFor("principal", strings.ToLower(cl.ID)), Ver: "1.0",
	}
	c.Sub = c.OID
	if tenant == "" {
		c.Iss = baseURL(r) + "/adfs"
	} else {
		c.Iss, c.TID = baseURL(r)+"/"+s.opts.TenantID+"/v2.0", s.opts.TenantID
	}
	tok, err := s.idp.issue(c)
	if err != nil {
		s.oauthError(w, http.StatusInternalServerError, "server_error", "MSIS7012", "50000",
			"An error occurred while issuing the token.")
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	secs := int(s.opts.TokenLifetime.Seconds())
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": tok, "token_type": "Bearer", "expires_in": secs, "ext_expires_in": secs,
	})
}

// resolveAudience returns the audience the token is for: the first scope
// ending in /.default without that suffix (the OIDC scopes MSAL adds are
// ignored), else the v1 resource parameter. Only the admin ARM audience and
// the Graph audience are known; trailing slashes and case do not matter.
func (s *Server) resolveAudience(scope, resource string) (string, bool) {
	want := requestedResource(scope, resource)
	for _, known := range []string{s.opts.Audience, s.opts.graphAudience()} {
		if sameAudience(want, known) {
			return known, true
		}
	}
	return "", false
}

func requestedResource(scope, resource string) string {
	for _, sc := range strings.Fields(scope) {
		if r, ok := strings.CutSuffix(sc, "/.default"); ok {
			return r
		}
	}
	return resource
}

// sameAudience compares audiences ignoring case and trailing slashes.
func sameAudience(a, b string) bool {
	return a != "" && strings.EqualFold(strings.TrimRight(a, "/"), strings.TrimRight(b, "/"))
}

// oauthError writes an OAuth 2.0 error response. The description starts
// with the AD FS (MSIS…) or Entra (AADSTS…) error number of the stamp's
// style. It never contains a secret: callers pass ids and names only.
func (s *Server) oauthError(w http.ResponseWriter, status int, code, adfsCode, entraCode, format string, args ...any) {
	prefix := "AADSTS" + entraCode
	if s.opts.Identity == ADFS {
		prefix = adfsCode
	}
	if prefix == "" {
		prefix = "AADSTS" + entraCode
	}
	writeJSON(w, status, map[string]any{
		"error":             code,
		"error_description": prefix + ": " + fmt.Sprintf(format, args...),
	})
}
