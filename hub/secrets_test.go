package hub

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestImportSecret validates and imports a certificate, good and bad; the
// stamp in the bad cases quotes the password and the PFX back, and the
// client's error must not.
func TestImportSecret(t *testing.T) {
	const pkg, name = "microsoft.eventhub.1.2003.0.0", "aseh-ssl-gateway-pfx"
	tests := map[string]struct {
		import_    bool
		expired    bool // the token expires before the call: the body is sent twice
		password   Secret
		wantErr    string
		wantStatus string
	}{
		"validate good":                     {password: canaryPFXPassword, wantStatus: "Deployed"},
		"import good":                       {import_: true, password: canaryPFXPassword, wantStatus: "Uploaded"},
		"import good with an expired token": {import_: true, expired: true, password: canaryPFXPassword, wantStatus: "Uploaded"},
		"validate wrong password": {password: canaryPFXPassword + "-typo", wantStatus: "Deployed",
			wantErr: `hub east: validate secret microsoft.eventhub.1.2003.0.0/aseh-ssl-gateway-pfx: InvalidCertificatePassword: The password "(sensitive)" does not open the PFX (sensitive). (HTTP 400)`},
		"import wrong password": {import_: true, password: canaryPFXPassword + "-typo", wantStatus: "Deployed",
			wantErr: `hub east: import secret microsoft.eventhub.1.2003.0.0/aseh-ssl-gateway-pfx: InvalidCertificatePassword: The password "(sensitive)" does not open the PFX (sensitive). (HTTP 400)`},
	}
	for tname, tc := range tests {
		t.Run(tname, func(t *testing.T) {
			st, c, log := newFixture(t, true)
			st.echoSecrets = true
			pfx := goodPFX(t, st)
			ctx := context.Background()
			if _, err := c.SubscriptionID(ctx); err != nil {
				t.Fatal(err)
			}
			if tc.expired {
				st.clock.Advance(2 * st.tokenTTL)
			}
			var err error
			if tc.import_ {
				var op Operation
				op, err = c.ImportSecret(ctx, pkg, name, pfx, tc.password)
				if err == nil && !op.Done() {
					t.Errorf("import returned an operation to poll: %+v", op)
				}
			} else {
				err = c.ValidateSecret(ctx, pkg, name, pfx, tc.password)
			}
			got := ""
			if err != nil {
				got = err.Error()
			}
			if diff := cmp.Diff(tc.wantErr, got); diff != "" {
				t.Errorf("error (-want +got)\n%s", diff)
			}
			assertNoLeak(t, "error", got, fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", tc.password))
			if strings.Contains(got+log.String(), "-typo") {
				t.Errorf("the wrong password leaked: %s\n%s", got, log)
			}
			if want := 1 + btoi(tc.expired); st.callsMatching("/"+name+"/validate")+st.callsMatching("/"+name+"/import") != want {
				t.Errorf("%d validate/import requests, want %d", st.callsMatching("/"+name+"/import"), want)
			}
			sec, err := c.GetProductSecret(ctx, pkg, name)
			if err != nil {
				t.Fatal(err)
			}
			if sec.Properties.SecretState.Status != tc.wantStatus {
				t.Errorf("secret status = %q, want %q", sec.Properties.SecretState.Status, tc.wantStatus)
			}
		})
	}
}

// TestReadSecrets reads a package's secrets with the typed structs.
func TestReadSecrets(t *testing.T) {
	_, c, _ := newFixture(t, false)
	secrets, err := c.ListProductSecrets(context.Background(), "microsoft.eventhub.1.2003.0.0")
	if err != nil {
		t.Fatal(err)
	}
	type row struct{ Name, Kind, Status, Expires string }
	var got []row
	for _, s := range secrets {
		exp, ok := s.Properties.SecretState.Expiration()
		r := row{s.SecretName(), s.Properties.SecretKind, s.Properties.SecretState.Status, "none"}
		if ok {
			r.Expires = exp.Format("2006-01-02")
		}
		got = append(got, r)
	}
	want := []row{{"aseh-ssl-gateway-pfx", "Certificate", "Deployed", "2027-03-31"}, {"aseh-sql-password", "Password", "Deployed", "2027-03-31"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
}

// TestSubscriptionLookup finds the Default Provider Subscription on the
// second page, once; a configured id skips the lookup.
func TestSubscriptionLookup(t *testing.T) {
	tests := map[string]struct {
		configured string
		wantCalls  int
	}{
		"looked up across pages": {wantCalls: 2},
		"configured":             {configured: testSubscription, wantCalls: 0},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			st, c, _ := newFixture(t, true, func(cfg *Config) { cfg.SubscriptionID = tc.configured })
			for range 3 {
				if _, err := c.GetProductDeployment(context.Background(), "microsoft.eventhub"); err != nil {
					t.Fatal(err)
				}
			}
			if n := st.callsMatching("GET /subscriptions"); n != tc.wantCalls {
				t.Errorf("%d subscription list calls, want %d", n, tc.wantCalls)
			}
		})
	}
}

// TestSubscriptionMissing: an identity without rights on the Default
// Provider Subscription gets an error that says so.
func TestSubscriptionMissing(t *testing.T) {
	st, c, _ := newFixture(t, true)
	st.addFault(&fault{match: "GET /subscriptions", times: 1, status: 200,
		body: `{"value":[{"subscriptionId":"1","displayName":"Tenant Sub"}]}`})
	_, err := c.ListProductDeployments(context.Background())
	want := `hub east: find the Default Provider Subscription: no subscription named "Default Provider Subscription" ` +
		`is visible to this identity (it sees 1: "Tenant Sub"); grant it rights on the Default Provider Subscription or set subscription_id`
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v\nwant %s", err, want)
	}
	var e *Error
	if !errors.As(err, &e) || e.Stamp != "east" {
		t.Errorf("err is not an *Error of stamp east: %#v", err)
	}
}
