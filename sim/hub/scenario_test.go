package hub

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestDefaultScenario(t *testing.T) {
	st := New(Options{Clock: fakeAt(epoch)}).State()
	type secret struct {
		Product, Version, Name, Kind, Host string
		Expires                            time.Time
		Rotation                           time.Duration
	}
	var got []secret
	for _, p := range st.Products {
		for _, s := range p.Secrets {
			got = append(got, secret{p.ID, p.Version, s.Name, s.Kind, p.host("local", "azurestack.external"), s.ExpirationDate, p.RotationDuration})
		}
	}
	want := []secret{
		{"microsoft.eventhub", "1.2003.0.0", "aseh-ssl-gateway-pfx", "Certificate", "*.eventhub.local.azurestack.external", epoch.Add(25 * day), 4 * time.Hour},
		{"microsoft.sqlrp", "2.0.0.2", "SSLCert", "Certificate", "*.dbadapter.local.azurestack.external", epoch.Add(200 * day), 15 * time.Minute},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("default stamp (-want +got):\n%s", diff)
	}
}

func TestNamedScenarios(t *testing.T) {
	tests := map[string]struct {
		products []string
		check    func(t *testing.T, sc Scenario)
	}{
		"default":    {products: []string{"microsoft.eventhub", "microsoft.sqlrp"}},
		"with-mysql": {products: []string{"microsoft.eventhub", "microsoft.sqlrp", "microsoft.mysqlrp"}},
		"near-expiry": {
			products: []string{"microsoft.eventhub", "microsoft.sqlrp", "microsoft.mysqlrp"},
			check: func(t *testing.T, sc Scenario) {
				for _, p := range sc.Products {
					if e := p.Secrets[0].ExpiresIn; e > 30*day {
						t.Errorf("%s expires in %v", p.ID, e)
					}
				}
			},
		},
		"rotation-fails": {
			products: []string{"microsoft.eventhub", "microsoft.sqlrp"},
			check: func(t *testing.T, sc Scenario) {
				if diff := cmp.Diff([]float64{60}, sc.Products[0].RotationFailures); diff != "" {
					t.Errorf("failures (-want +got):\n%s", diff)
				}
			},
		},
	}
	if diff := cmp.Diff([]string{"async-secrets", "bare-202", "default", "near-expiry", "operation-errors", "rotation-fails", "spec-examples", "with-mysql"}, ScenarioNames()); diff != "" {
		t.Errorf("names (-want +got):\n%s", diff)
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			sc, err := ScenarioByName(strings.ToUpper(name))
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, p := range sc.Products {
				ids = append(ids, p.ID)
			}
			if diff := cmp.Diff(tc.products, ids); diff != "" {
				t.Errorf("products (-want +got):\n%s", diff)
			}
			if err := sc.validate(); err != nil {
				t.Error(err)
			}
			if tc.check != nil {
				tc.check(t, sc)
			}
			// A fresh copy each time: editing one does not change the next.
			sc.Products[0].ID = "edited"
			if again, _ := ScenarioByName(name); again.Products[0].ID == "edited" {
				t.Error("ScenarioByName returned shared data")
			}
		})
	}
	if _, err := ScenarioByName("nope"); err == nil {
		t.Error("unknown scenario accepted")
	}
}

func TestInvalidOptions(t *testing.T) {
	dup := DefaultScenario()
	dup.Products = append(dup.Products, dup.Products[0])
	badFail := DefaultScenario()
	badFail.Products[0].RotationFailures = []float64{100}
	noSAN := DefaultScenario()
	noSAN.Products[0].SANLabel = ""
	badKind := DefaultScenario()
	badKind.Products[0].Secrets[0].Kind = "Cookie"
	tests := map[string]struct {
		opts Options
		want string
	}{
		"duplicate product":     {Options{Scenario: &dup}, "listed twice"},
		"failure point 100":     {Options{Scenario: &badFail}, "outside (0, 100)"},
		"certificate no SAN":    {Options{Scenario: &noSAN}, "no SANLabel"},
		"unknown secret kind":   {Options{Scenario: &badKind}, "unknown kind"},
		"client without secret": {Options{Clients: []Client{{ID: "x"}}}, "neither a secret nor a certificate"},
		"client twice":          {Options{Clients: []Client{{ID: "x", Secret: "a"}, {ID: "X", Secret: "b"}}}, "registered twice"},
		"bad address":           {Options{Addr: "nowhere"}, "listen address"},
		"unknown identity":      {Options{Identity: IdentityStyle(7)}, "identity style"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Open(tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Open = %v, want an error mentioning %q", err, tc.want)
			}
		})
	}
	defer func() {
		if recover() == nil {
			t.Error("New did not panic on invalid options")
		}
	}()
	New(Options{Addr: "nowhere"})
}

func TestDiscoveryDocuments(t *testing.T) {
	tests := map[string]struct {
		style IdentityStyle
		path  func(f *fixture) string
		want  func(f *fixture) map[string]string
	}{
		"adfs": {
			style: ADFS,
			path:  func(*fixture) string { return "/adfs/.well-known/openid-configuration" },
			want: func(f *fixture) map[string]string {
				u := f.srv.URL()
				return map[string]string{"issuer": u + "/adfs", "authorization_endpoint": u + "/adfs/oauth2/authorize/",
					"token_endpoint": u + "/adfs/oauth2/token/", "jwks_uri": u + "/adfs/discovery/keys"}
			},
		},
		"entra": {
			style: Entra,
			path:  func(f *fixture) string { return "/" + f.srv.Tenant() + "/v2.0/.well-known/openid-configuration" },
			want: func(f *fixture) map[string]string {
				u := f.srv.URL() + "/" + f.srv.Tenant()
				return map[string]string{"issuer": u + "/v2.0", "authorization_endpoint": u + "/oauth2/v2.0/authorize",
					"token_endpoint": u + "/oauth2/v2.0/token", "jwks_uri": u + "/discovery/v2.0/keys"}
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := start(t, Options{Identity: tc.style})
			doc := decode[map[string]any](t, f.doAuth(http.MethodGet, tc.path(f), nil, ""))
			got := map[string]string{}
			for k := range tc.want(f) {
				got[k], _ = doc[k].(string)
			}
			if diff := cmp.Diff(tc.want(f), got); diff != "" {
				t.Errorf("discovery (-want +got):\n%s", diff)
			}
			keys := decode[map[string][]map[string]string](t, f.doAuth(http.MethodGet, got["jwks_uri"], nil, ""))
			if len(keys["keys"]) != 1 || keys["keys"][0]["kty"] != "RSA" {
				t.Errorf("jwks: %v", keys)
			}
		})
	}
}

func TestCallLogAndHook(t *testing.T) {
	var hooked []Call
	f := start(t, Options{OnCall: func(c Call) { hooked = append(hooked, c) }})
	f.do(http.MethodGet, f.arm("/productDeployments"), nil)
	calls := f.srv.Calls()
	if diff := cmp.Diff(calls, hooked); diff != "" {
		t.Errorf("hook saw (-log +hook):\n%s", diff)
	}
	if len(calls) != 2 || calls[1].Status != 200 || calls[1].Query != "api-version=2019-01-01" || calls[0].Seq != 1 || calls[1].Seq != 2 {
		t.Errorf("calls: %+v", calls)
	}
	if strings.Contains(callsText(calls), f.tok) {
		t.Error("the request log holds an access token")
	}
}
