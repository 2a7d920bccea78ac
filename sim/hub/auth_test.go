package hub

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestARMAuthentication(t *testing.T) {
	tests := map[string]struct {
		// authz builds the Authorization header; it may change the stamp.
		authz    func(f *fixture) string
		wantCode string // "" = 200
	}{
		"good token": {
			authz: func(f *fixture) string { return "Bearer " + f.token(f.srv.Audience()) },
		},
		"audience with trailing slash": {
			authz: func(f *fixture) string { return "Bearer " + f.token(f.srv.Audience()+"/") },
		},
		"missing header": {
			authz:    func(*fixture) string { return "" },
			wantCode: "AuthenticationFailed",
		},
		"basic scheme": {
			authz:    func(*fixture) string { return "Basic dXNlcjpwYXNz" },
			wantCode: "AuthenticationFailed",
		},
		"garbage token": {
			authz:    func(*fixture) string { return "Bearer not.a.jwt" },
			wantCode: "InvalidAuthenticationToken",
		},
		"tampered token": {
			authz: func(f *fixture) string {
				tok := f.token(f.srv.Audience())
				parts := strings.Split(tok, ".")
				return "Bearer " + parts[0] + "." + parts[1] + "x." + parts[2]
			},
			wantCode: "InvalidAuthenticationToken",
		},
		"token of another stamp": {
			authz: func(f *fixture) string {
				other := start(f.t, Options{Clock: f.clk})
				return "Bearer " + other.token(other.srv.Audience())
			},
			wantCode: "InvalidAuthenticationToken",
		},
		"expired on the stamp clock": {
			authz: func(f *fixture) string {
				tok := f.token(f.srv.Audience())
				f.clk.Advance(f.srv.opts.TokenLifetime)
				return "Bearer " + tok
			},
			wantCode: "ExpiredAuthenticationToken",
		},
		"invalidated by the identity provider": {
			authz: func(f *fixture) string {
				tok := f.token(f.srv.Audience())
				f.srv.ExpireTokens()
				return "Bearer " + tok
			},
			wantCode: "ExpiredAuthenticationToken",
		},
		"fresh token after invalidation": {
			authz: func(f *fixture) string {
				f.token(f.srv.Audience())
				f.srv.ExpireTokens()
				return "Bearer " + f.token(f.srv.Audience())
			},
		},
		"graph audience": {
			authz:    func(f *fixture) string { return "Bearer " + f.token(f.srv.opts.graphAudience()) },
			wantCode: "InvalidAuthenticationTokenAudience",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := start(t, Options{TokenLifetime: time.Hour})
			res := f.doAuth(http.MethodGet, f.arm("/productDeployments"), nil, tc.authz(f))
			if tc.wantCode == "" {
				if res.Status != http.StatusOK {
					t.Fatalf("status %d: %s", res.Status, res.Body)
				}
				return
			}
			if res.Status != http.StatusUnauthorized || res.armCode() != tc.wantCode {
				t.Fatalf("got %d %s, want 401 %s", res.Status, res.Body, tc.wantCode)
			}
			ch := res.Header.Get("WWW-Authenticate")
			want := `Bearer authorization_uri="` + f.srv.URL() + `/adfs/", error="invalid_token", error_description="`
			if !strings.HasPrefix(ch, want) || strings.Count(ch, `"`) != 6 {
				t.Errorf("WWW-Authenticate = %s", ch)
			}
		})
	}
}

func TestTokenEndpointErrors(t *testing.T) {
	base := func() url.Values {
		return url.Values{
			"grant_type": {"client_credentials"}, "client_id": {testClientID}, "client_secret": {canaryClientSecr},
			"scope": {"AUDIENCE/.default openid offline_access profile"}, "client_info": {"1"},
			"claims": {`{"access_token":{"xms_cc":{"values":["CP1"]}}}`},
		}
	}
	type want struct {
		Status int
		Error  string
		Prefix string // error_description prefix (AD FS MSIS number)
	}
	tests := map[string]struct {
		edit func(v url.Values)
		want want
	}{
		"good, with the extra OIDC scopes, claims and client_info": {edit: func(url.Values) {}, want: want{Status: 200}},
		"v1 resource parameter": {edit: func(v url.Values) { v.Del("scope"); v.Set("resource", "AUDIENCE") }, want: want{Status: 200}},
		"wrong secret": {
			edit: func(v url.Values) { v.Set("client_secret", "wrong-"+canaryPFXPassword) },
			want: want{401, "invalid_client", "MSIS9622"},
		},
		"unknown client": {
			edit: func(v url.Values) { v.Set("client_id", "00000000-0000-0000-0000-000000000000") },
			want: want{400, "unauthorized_client", "MSIS9607"},
		},
		"no client id":     {edit: func(v url.Values) { v.Del("client_id") }, want: want{400, "invalid_request", "MSIS9609"}},
		"password grant":   {edit: func(v url.Values) { v.Set("grant_type", "password") }, want: want{400, "unsupported_grant_type", "MSIS9611"}},
		"unknown resource": {edit: func(v url.Values) { v.Set("scope", "https://management.azure.com/.default") }, want: want{400, "invalid_resource", "MSIS9602"}},
		"no credential":    {edit: func(v url.Values) { v.Del("client_secret") }, want: want{401, "invalid_client", "MSIS9622"}},
		"secret and assertion": {
			edit: func(v url.Values) {
				v.Set("client_assertion", "a.b.c")
				v.Set("client_assertion_type", jwtBearer)
			},
			want: want{400, "invalid_request", "MSIS9622"},
		},
		"assertion for a secret-only client": {
			edit: func(v url.Values) {
				v.Del("client_secret")
				v.Set("client_assertion", "a.b.c")
				v.Set("client_assertion_type", jwtBearer)
			},
			want: want{401, "invalid_client", "MSIS9622"},
		},
	}
	f := start(t, Options{})
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			form := base()
			form.Set("scope", strings.ReplaceAll(form.Get("scope"), "AUDIENCE", f.srv.Audience()))
			tc.edit(form)
			if form.Get("resource") == "AUDIENCE" {
				form.Set("resource", f.srv.Audience())
			}
			status, body := f.requestToken(form)
			got := want{Status: status}
			if status != 200 {
				got.Error, _ = body["error"].(string)
				desc, _ := body["error_description"].(string)
				got.Prefix, _, _ = strings.Cut(desc, ":")
				assertNoCanary(t, "error_description", desc)
			} else if body["token_type"] != "Bearer" || body["expires_in"] != float64(48*3600) {
				t.Errorf("token response %v", body)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("token response (-want +got):\n%s", diff)
			}
		})
	}
	assertNoCanary(t, "request log", callsText(f.srv.Calls()))
}

func TestEntraTenantMustMatch(t *testing.T) {
	f := start(t, Options{Identity: Entra})
	res := f.doAuth(http.MethodGet, "/11111111-2222-3333-4444-555555555555/v2.0/.well-known/openid-configuration", nil, "")
	if res.Status != 400 || !strings.Contains(string(res.Body), "AADSTS90002") {
		t.Errorf("unknown tenant: %d %s", res.Status, res.Body)
	}
	res = f.doAuth(http.MethodGet, "/"+strings.ToUpper(f.srv.Tenant())+"/v2.0/.well-known/openid-configuration", nil, "")
	doc := decode[map[string]any](t, res)
	if res.Status != 200 || doc["token_endpoint"] != f.srv.URL()+"/"+strings.ToUpper(f.srv.Tenant())+"/oauth2/v2.0/token" {
		t.Errorf("discovery: %d %s", res.Status, res.Body)
	}
	if tok := f.token(f.srv.Audience()); tok == "" {
		t.Error("no token from the Entra endpoint")
	}
}
