package hub

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMetadata(t *testing.T) {
	tests := map[string]struct {
		style      IdentityStyle
		apiVersion string
		wantStatus int
		wantLogin  string // relative to the server URL
	}{
		"adfs 2015-01-01": {style: ADFS, apiVersion: "2015-01-01", wantStatus: 200, wantLogin: "/adfs/"},
		"adfs 1.0":        {style: ADFS, apiVersion: "1.0", wantStatus: 200, wantLogin: "/adfs/"},
		"entra":           {style: Entra, apiVersion: "2015-01-01", wantStatus: 200, wantLogin: "/"},
		"wrong version":   {style: ADFS, apiVersion: "2099-01-01", wantStatus: 400},
		"no version":      {style: ADFS, wantStatus: 400},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := start(t, Options{Identity: tc.style})
			path := "/metadata/endpoints"
			if tc.apiVersion != "" {
				path += "?api-version=" + tc.apiVersion
			}
			res := f.doAuth(http.MethodGet, path, nil, "") // unauthenticated
			if res.Status != tc.wantStatus {
				t.Fatalf("status %d, want %d: %s", res.Status, tc.wantStatus, res.Body)
			}
			if tc.wantStatus != 200 {
				return
			}
			got := decode[metadata](t, res)
			want := metadata{
				GalleryEndpoint: "https://adminportal.local.azurestack.external:30015/",
				GraphEndpoint:   "https://graph.local.azurestack.external/",
				PortalEndpoint:  "https://adminportal.local.azurestack.external/",
				Authentication: metadataAuthN{
					LoginEndpoint: f.srv.URL() + tc.wantLogin,
					Audiences:     []string{f.srv.Audience()},
				},
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("metadata (-want +got):\n%s", diff)
			}
			if !strings.HasPrefix(f.srv.Audience(), "https://adminmanagement.local.azurestack.external/") {
				t.Errorf("audience %q", f.srv.Audience())
			}
		})
	}
}

func TestLoginEndpoint(t *testing.T) {
	tests := map[string]struct {
		base  string
		style IdentityStyle
		want  string
	}{
		"adfs by address":  {"https://127.0.0.1:4443", ADFS, "https://127.0.0.1:4443/adfs/"},
		"entra by address": {"https://127.0.0.1:4443", Entra, "https://127.0.0.1:4443/"},
		"adfs by name":     {"https://adminmanagement.local.azurestack.external:4443", ADFS, "https://adfs.local.azurestack.external:4443/adfs/"},
		"entra by name":    {"https://AdminManagement.east.contoso.com", Entra, "https://login.east.contoso.com/"},
		"not started":      {"", ADFS, ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := loginEndpoint(tc.base, tc.style); got != tc.want {
				t.Errorf("loginEndpoint = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestSubscriptions(t *testing.T) {
	f := start(t, Options{})
	res := f.do(http.MethodGet, "/subscriptions?api-version=2016-05-01", nil)
	if res.Status != 200 {
		t.Fatalf("status %d: %s", res.Status, res.Body)
	}
	got := decode[list[subscription]](t, res)
	var names []string
	for _, s := range got.Value {
		names = append(names, s.DisplayName)
	}
	if diff := cmp.Diff([]string{"Default Provider Subscription", "Metering Subscription", "Consumption Subscription"}, names); diff != "" {
		t.Errorf("subscriptions (-want +got):\n%s", diff)
	}
	dps := got.Value[0]
	if dps.ID != "/subscriptions/"+dps.SubscriptionID || dps.SubscriptionID != f.srv.SubscriptionID() {
		t.Errorf("default provider subscription %+v, server says %s", dps, f.srv.SubscriptionID())
	}
	// Deterministic: another stamp with the same name has the same id.
	if other := New(Options{}); other.SubscriptionID() != dps.SubscriptionID {
		t.Errorf("subscription id differs between stamps: %s vs %s", other.SubscriptionID(), dps.SubscriptionID)
	}
	one := f.do(http.MethodGet, "/subscriptions/"+strings.ToUpper(dps.SubscriptionID)+"?api-version=2016-05-01", nil)
	if one.Status != 200 || decode[subscription](t, one).DisplayName != DefaultProviderSubscription {
		t.Errorf("GET one subscription: %d %s", one.Status, one.Body)
	}
}

func TestRouting(t *testing.T) {
	f := start(t, Options{})
	sub := f.srv.SubscriptionID()
	P := "/subscriptions/" + sub + "/providers/Microsoft.Deployment.Admin/locations/global"
	v := "?api-version=2019-01-01"
	tests := map[string]struct {
		method, path string
		wantStatus   int
		wantCode     string // ARM error code, "" on success
		wantName     string // name of the returned resource
	}{
		"deployment":               {"GET", P + "/productDeployments/microsoft.eventhub" + v, 200, "", "global/microsoft.eventhub"},
		"deployment mixed case":    {"GET", P + "/productDeployments/Microsoft.EventHub" + v, 200, "", "global/microsoft.eventhub"},
		"path segments upper case": {"GET", strings.ToUpper(P+"/productDeployments/microsoft.eventhub") + v, 200, "", "global/microsoft.eventhub"},
		"package":                  {"GET", P + "/productPackages/MICROSOFT.SQLRP.2.0.0.2" + v, 200, "", "global/microsoft.sqlrp.2.0.0.2"},
		"secret":                   {"GET", P + "/productPackages/microsoft.sqlrp.2.0.0.2/secrets/sslcert" + v, 200, "", "global/microsoft.sqlrp.2.0.0.2/SSLCert"},
		"secret of eventhub":       {"GET", P + "/productPackages/microsoft.eventhub.1.2003.0.0/secrets/ASEH-SSL-GATEWAY-PFX" + v, 200, "", "global/microsoft.eventhub.1.2003.0.0/aseh-ssl-gateway-pfx"},
		"unknown product":          {"GET", P + "/productDeployments/microsoft.nope" + v, 404, "ResourceNotFound", ""},
		"unknown package version":  {"GET", P + "/productPackages/microsoft.sqlrp.9.9.9.9" + v, 404, "ResourceNotFound", ""},
		"unknown secret":           {"GET", P + "/productPackages/microsoft.sqlrp.2.0.0.2/secrets/nope" + v, 404, "ResourceNotFound", ""},
		"unknown operation":        {"GET", P + "/operationresults/00000000-0000-0000-0000-000000000000" + v, 404, "ResourceNotFound", ""},
		"missing api-version":      {"GET", P + "/productDeployments", 400, "MissingApiVersionParameter", ""},
		"wrong api-version":        {"GET", P + "/productDeployments?api-version=2016-05-01", 400, "NoRegisteredProviderFound", ""},
		"unknown subscription":     {"GET", "/subscriptions/11111111-2222-3333-4444-555555555555/providers/Microsoft.Deployment.Admin/locations/global/productDeployments" + v, 404, "SubscriptionNotFound", ""},
		"wrong location":           {"GET", "/subscriptions/" + sub + "/providers/Microsoft.Deployment.Admin/locations/local/productDeployments" + v, 404, "LocationNotFound", ""},
		"unknown resource type":    {"GET", P + "/productWidgets" + v, 404, "InvalidResourceType", ""},
		"POST on a GET resource":   {"POST", P + "/productDeployments/microsoft.eventhub" + v, 405, "MethodNotAllowed", ""},
		"GET on rotateSecrets":     {"GET", P + "/productDeployments/microsoft.eventhub/rotateSecrets" + v, 405, "MethodNotAllowed", ""},
		"unsupported action":       {"POST", P + "/productDeployments/microsoft.eventhub/deploy" + v, 400, "UnsupportedOperation", ""},
		"unknown top-level path":   {"GET", "/nothing/here", 404, "NotFound", ""},
		"entra token path on adfs": {"POST", "/" + f.srv.opts.TenantID + "/oauth2/v2.0/token", 404, "NotFound", ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			res := f.do(tc.method, tc.path, nil)
			if res.Status != tc.wantStatus || res.armCode() != tc.wantCode {
				t.Fatalf("%s %s = %d %s, want %d %s", tc.method, tc.path, res.Status, res.Body, tc.wantStatus, tc.wantCode)
			}
			if tc.wantName != "" {
				if got := decode[struct{ Name string }](t, res).Name; got != tc.wantName {
					t.Errorf("name = %q, want %q", got, tc.wantName)
				}
			}
			if res.Status >= 400 && res.Header.Get("Content-Type") != "application/json; charset=utf-8" {
				t.Errorf("error Content-Type = %q", res.Header.Get("Content-Type"))
			}
			if res.Header.Get("x-ms-request-id") == "" {
				t.Error("no x-ms-request-id")
			}
		})
	}
}

func TestListsAndPaging(t *testing.T) {
	sc, err := ScenarioByName("with-mysql")
	if err != nil {
		t.Fatal(err)
	}
	f := start(t, Options{Scenario: &sc, PageSize: 2})
	var names []string
	next := f.arm("/productDeployments")
	pages := 0
	for next != "" {
		res := f.do(http.MethodGet, next, nil)
		if res.Status != 200 {
			t.Fatalf("page %d: %d %s", pages, res.Status, res.Body)
		}
		l := decode[list[deploymentJSON]](t, res)
		for _, d := range l.Value {
			names = append(names, d.Name)
		}
		next = l.NextLink
		if pages++; pages > 5 {
			t.Fatal("nextLink never ends")
		}
	}
	want := []string{"global/microsoft.eventhub", "global/microsoft.sqlrp", "global/microsoft.mysqlrp"}
	if diff := cmp.Diff(want, names); diff != "" || pages != 2 {
		t.Errorf("%d pages; names (-want +got):\n%s", pages, diff)
	}

	pk := decode[list[packageJSON]](t, f.do(http.MethodGet, f.arm("/productPackages"), nil))
	if len(pk.Value) != 2 || pk.NextLink == "" || pk.Value[0].Name != "global/microsoft.eventhub.1.2003.0.0" {
		t.Errorf("first package page: %+v", pk)
	}
	secs := decode[list[secretJSON]](t, f.do(http.MethodGet, f.arm("/productPackages/microsoft.eventhub.1.2003.0.0/secrets"), nil))
	if len(secs.Value) != 1 || secs.Value[0].Properties.SecretKind != "Certificate" {
		t.Errorf("secrets: %+v", secs)
	}
}
