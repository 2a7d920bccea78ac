package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// Metadata is what discovery learned about the stamp's sign-in.
type Metadata struct {
	// LoginEndpoint is authentication.loginEndpoint, as the stamp sent it.
	LoginEndpoint string
	// Audience is authentication.audiences[0]; tokens are requested for
	// Scope = Audience + "/.default".
	Audience string
	Scope    string
	// ADFS is true when the login endpoint, trailing slash trimmed, ends in
	// /adfs (the rule of Microsoft's AzureStack-Tools); Entra ID otherwise.
	ADFS bool
	// AuthorityHost is the login endpoint's scheme and host ("https://host/"),
	// the credential's authority host.
	AuthorityHost string
	// Tenant is the tenant the credential signs in to: "adfs" on AD FS.
	Tenant string
}

// metadataResponse is the body of GET /metadata/endpoints.
type metadataResponse struct {
	GalleryEndpoint string `json:"galleryEndpoint"`
	GraphEndpoint   string `json:"graphEndpoint"`
	PortalEndpoint  string `json:"portalEndpoint"`
	Authentication  struct {
		LoginEndpoint string   `json:"loginEndpoint"`
		Audiences     []string `json:"audiences"`
	} `json:"authentication"`
}

// discover reads the stamp's metadata endpoint (no authentication) and
// derives the sign-in settings for auth.
func (c *Client) discover(ctx context.Context, auth Auth) (Metadata, error) {
	const op = "discover endpoints"
	resp, err := c.send(ctx, request{op: op, method: http.MethodGet, anonymous: true,
		url: c.base + "/metadata/endpoints?api-version=2015-01-01"})
	if err != nil {
		return Metadata{}, err
	}
	var m metadataResponse
	if err := decodeJSON(resp, &m); err != nil {
		return Metadata{}, &Error{Stamp: c.stamp, Op: op, StatusCode: resp.StatusCode, Message: "unreadable metadata", Err: err}
	}
	md, err := metadataFrom(m, auth)
	if err != nil {
		return Metadata{}, &Error{Stamp: c.stamp, Op: op, Message: err.Error()}
	}
	return md, nil
}

// metadataFrom derives the sign-in settings from the metadata document.
func metadataFrom(m metadataResponse, auth Auth) (Metadata, error) {
	login := m.Authentication.LoginEndpoint
	if login == "" {
		return Metadata{}, errors.New("metadata has no authentication.loginEndpoint")
	}
	if len(m.Authentication.Audiences) == 0 || m.Authentication.Audiences[0] == "" {
		return Metadata{}, errors.New("metadata has no authentication.audiences")
	}
	lu, err := url.Parse(login)
	if err != nil || lu.Host == "" || !strings.EqualFold(lu.Scheme, "https") {
		return Metadata{}, fmt.Errorf("login endpoint %q is not an https URL", login)
	}
	md := Metadata{
		LoginEndpoint: login,
		Audience:      m.Authentication.Audiences[0],
		ADFS:          strings.HasSuffix(strings.ToLower(strings.TrimRight(login, "/")), "/adfs"),
		AuthorityHost: "https://" + lu.Host + "/",
	}
	md.Scope = md.Audience + "/.default"
	if md.Tenant, err = resolveTenant(auth, md.ADFS); err != nil {
		return Metadata{}, err
	}
	return md, nil
}

// decodeJSON decodes a downloaded response body; unknown fields are ignored.
func decodeJSON(resp *http.Response, v any) error {
	body, err := payload(resp)
	if err != nil {
		return err
	}
	return json.Unmarshal(body, v)
}
