package hub

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/runbook-dev/runbook/clock"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 28, 22, 0, 0, 0, time.UTC)
	tests := map[string]struct {
		header map[string]string
		want   time.Duration
		wantOK bool
	}{
		"seconds":               {map[string]string{"Retry-After": "120"}, 2 * time.Minute, true},
		"zero":                  {map[string]string{"Retry-After": "0"}, 0, true},
		"http date":             {map[string]string{"Retry-After": now.Add(90 * time.Second).Format(http.TimeFormat)}, 90 * time.Second, true},
		"http date in the past": {map[string]string{"Retry-After": now.Add(-time.Hour).Format(http.TimeFormat)}, 0, true},
		"retry-after-ms wins":   {map[string]string{"Retry-After": "120", "retry-after-ms": "250"}, 250 * time.Millisecond, true},
		"x-ms-retry-after-ms":   {map[string]string{"x-ms-retry-after-ms": "1500"}, 1500 * time.Millisecond, true},
		"garbage":               {map[string]string{"Retry-After": "soon"}, 0, false},
		"negative":              {map[string]string{"Retry-After": "-5"}, 0, false},
		"absent":                {nil, 0, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			resp := &http.Response{Header: http.Header{}}
			for k, v := range tc.header {
				resp.Header.Set(k, v)
			}
			d, ok := retryAfter(resp, clock.NewFake(now))
			if diff := cmp.Diff(fmt.Sprint(tc.want, tc.wantOK), fmt.Sprint(d, ok)); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

func TestErrorText(t *testing.T) {
	cause := errors.New("dial tcp 127.0.0.1:1: connect: connection refused")
	tests := map[string]struct {
		err  *Error
		want string
	}{
		"arm error": {&Error{Stamp: "east", Op: "get secret p/s", StatusCode: 404, Code: "NotFound", Message: "gone"},
			"hub east: get secret p/s: NotFound: gone (HTTP 404)"},
		"code only": {&Error{Stamp: "east", Op: "op", StatusCode: 409, Code: "Conflict"}, "hub east: op: Conflict (HTTP 409)"},
		"transport": {&Error{Stamp: "east", Op: "op", Err: cause}, "hub east: op: " + cause.Error()},
		"operation failed": {&Error{Stamp: "east", Op: "rotate", Code: "X", Message: "y", Err: ErrOperationFailed},
			"hub east: rotate: operation failed: X: y"},
		"message and cause": {&Error{Stamp: "east", Op: "op", Message: "m", Err: cause}, "hub east: op: m: " + cause.Error()},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, tc.err.Error()); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

func TestParseErrorBody(t *testing.T) {
	tests := map[string]struct{ body, code, msg string }{
		"envelope":   {`{"error":{"code":"C","message":"M","details":[]}}`, "C", "M"},
		"bare":       {`{"code":"C","message":"M"}`, "C", "M"},
		"not json":   {"<html>Bad Gateway</html>", "", "<html>Bad Gateway</html>"},
		"empty":      {"", "", ""},
		"long":       {strings.Repeat("x", 300), "", strings.Repeat("x", 200) + "…"},
		"odd fields": {`{"error":{"code":"C","message":"M","innererror":{"x":1}},"extra":true}`, "C", "M"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			code, msg := parseErrorBody([]byte(tc.body))
			if diff := cmp.Diff(tc.code+"|"+tc.msg, code+"|"+msg); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

func TestSecretNeverPrints(t *testing.T) {
	s := Secret(canaryPFXPassword)
	cfg := Config{Auth: Auth{ClientSecret: canaryClientSecret, CertificatePassword: s}}
	j, err := json.Marshal(cfg.Auth)
	if err != nil {
		t.Fatal(err)
	}
	outputs := []string{
		fmt.Sprint(s), fmt.Sprintf("%s|%q|%v|%+v|%#v|%x|%10s", s, s, s, s, s, s, s),
		fmt.Sprintf("%v %+v %#v", cfg, cfg, cfg), string(j), s.String(), s.GoString(),
	}
	assertNoLeak(t, "formatted secret", outputs...)
	if s.Reveal() != canaryPFXPassword {
		t.Error("Reveal does not return the value")
	}
}

func TestRedactor(t *testing.T) {
	r := redactor(nil).with("pa\"ss<word>", "pa\"ss", "")
	tests := map[string]struct{ in, want string }{
		"raw":            {`x pa"ss<word> y`, "x (sensitive) y"},
		"json escaped":   {`x pa\"ss\u003cword\u003e y`, "x (sensitive) y"},
		"url encoded":    {"x=pa%22ss%3Cword%3E&y", "x=(sensitive)&y"},
		"shorter secret": {`x pa"ss y`, "x (sensitive) y"},
		"clean":          {"nothing here", "nothing here"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, r.apply(tc.in)); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

func TestMetadataFrom(t *testing.T) {
	const aud = "https://adminmanagement.x/guid"
	tests := map[string]struct {
		login   string
		tenant  string
		method  AuthMethod
		want    Metadata
		wantErr string
	}{
		"adfs with slash": {login: "https://adfs.local.azurestack.external/adfs/", method: AuthClientSecret,
			want: Metadata{ADFS: true, AuthorityHost: "https://adfs.local.azurestack.external/", Tenant: "adfs"}},
		"adfs without slash, upper case": {login: "https://ADFS.x:8443/ADFS", tenant: "ADFS", method: AuthClientSecret,
			want: Metadata{ADFS: true, AuthorityHost: "https://ADFS.x:8443/", Tenant: "adfs"}},
		"adfs with a tenant id": {login: "https://adfs.x/adfs/", tenant: "8f9e", method: AuthClientSecret,
			wantErr: `auth tenant "8f9e": the stamp signs in with AD FS, whose only tenant is "adfs"`},
		"entra": {login: "https://login.microsoftonline.com/", tenant: "t-1", method: AuthClientCertificate,
			want: Metadata{AuthorityHost: "https://login.microsoftonline.com/", Tenant: "t-1"}},
		"entra service principal without tenant": {login: "https://login.microsoftonline.com/", method: AuthClientSecret,
			wantErr: "auth tenant is required: the stamp signs in with Entra ID; give the directory's tenant id"},
		"entra device code without tenant": {login: "https://login.windows.net/", method: AuthDeviceCode,
			want: Metadata{AuthorityHost: "https://login.windows.net/"}},
		"adfs in a host name is not adfs": {login: "https://adfs.example/", tenant: "t", method: AuthClientSecret,
			want: Metadata{AuthorityHost: "https://adfs.example/", Tenant: "t"}},
		"http login endpoint": {login: "http://adfs.x/adfs/", method: AuthClientSecret,
			wantErr: `login endpoint "http://adfs.x/adfs/" is not an https URL`},
		"no login endpoint": {method: AuthClientSecret, wantErr: "metadata has no authentication.loginEndpoint"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var m metadataResponse
			m.Authentication.LoginEndpoint = tc.login
			m.Authentication.Audiences = []string{aud, "https://other"}
			got, err := metadataFrom(m, Auth{Method: tc.method, Tenant: tc.tenant})
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("err = %v, want %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.want.LoginEndpoint, tc.want.Audience, tc.want.Scope = tc.login, aud, aud+"/.default"
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

func TestConfigCheck(t *testing.T) {
	ok := Auth{Method: AuthClientSecret, ClientID: "c", ClientSecret: "s"}
	tests := map[string]struct {
		cfg  Config
		want string
	}{
		"no endpoint":     {Config{Name: "east", Auth: ok}, "hub east: endpoint is required"},
		"http endpoint":   {Config{Endpoint: "http://x", Auth: ok}, `hub : endpoint "http://x" must use https`},
		"no method":       {Config{Endpoint: "https://x"}, "hub x: auth method is required (client_secret, client_certificate, device_code or azure_cli)"},
		"unknown method":  {Config{Endpoint: "https://x", Auth: Auth{Method: "password"}}, `hub x: unknown auth method "password" (want client_secret, client_certificate, device_code or azure_cli)`},
		"no secret":       {Config{Endpoint: "https://x", Auth: Auth{Method: AuthClientSecret, ClientID: "c"}}, "hub x: auth method client_secret needs client_secret"},
		"no certificate":  {Config{Endpoint: "https://x", Auth: Auth{Method: AuthClientCertificate, ClientID: "c"}}, "hub x: auth method client_certificate needs certificate_file"},
		"no client id":    {Config{Endpoint: "https://x", Auth: Auth{Method: AuthClientCertificate, CertificateFile: "f"}}, "hub x: auth method client_certificate needs client_id"},
		"fine":            {Config{Endpoint: "https://x/", Auth: ok}, ""},
		"device code too": {Config{Endpoint: "https://x", Auth: Auth{Method: AuthDeviceCode}}, ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := tc.cfg.check()
			got := ""
			if err != nil {
				got = err.Error()
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

func TestLoadCertificateErrors(t *testing.T) {
	st := newStamp(t, newFakeClock(), true)
	leaf, err := st.ca.ClientCertificate("op", epoch, epoch.AddDate(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	pfx, err := leaf.PFX(canaryPFXPassword)
	if err != nil {
		t.Fatal(err)
	}
	pem, err := leaf.PEM()
	if err != nil {
		t.Fatal(err)
	}
	certOnly := pem[:strings.Index(string(pem), "-----BEGIN PRIVATE KEY")]
	tests := map[string]struct {
		auth Auth
		want string
	}{
		"wrong pfx password": {Auth{CertificateData: pfx, CertificatePassword: "nope-" + canaryPFXPassword},
			"certificate_data: the certificate password does not open the PFX"},
		"pem without key": {Auth{CertificateData: certOnly}, "certificate_data: PEM needs a CERTIFICATE and an unencrypted PRIVATE KEY block"},
		"encrypted pem key": {Auth{CertificateData: []byte("-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n")},
			"certificate_data: PEM block ENCRYPTED PRIVATE KEY: encrypted PEM private keys are not supported; use a PFX with a password"},
		"missing file": {Auth{CertificateFile: "/nonexistent/op.pfx"}, "certificate_file: open /nonexistent/op.pfx: no such file or directory"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, _, err := loadCertificate(tc.auth)
			if err == nil {
				t.Fatal("no error")
			}
			if diff := cmp.Diff(tc.want, err.Error()); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
			assertNoLeak(t, "error", err.Error())
		})
	}
}

func TestOperationStatusParsing(t *testing.T) {
	tests := map[string]struct {
		pct      string
		status   string
		terminal bool
		want     float64
	}{
		"number":      {`42.5`, "RotatingSecrets", false, 42.5},
		"string":      {`"60"`, "Failed", true, 60},
		"absent":      {``, "succeeded", true, 0},
		"garbage":     {`"lots"`, "Canceled", true, 0},
		"other verbs": {`1`, "Updating", false, 1},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			st := OperationStatus{Status: tc.status, PercentComplete: parsePercent(json.RawMessage(tc.pct))}
			if diff := cmp.Diff(fmt.Sprint(tc.want, tc.terminal), fmt.Sprint(st.PercentComplete, st.Terminal())); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

func TestParseARMTime(t *testing.T) {
	tests := map[string]struct {
		in     string
		want   string
		wantOK bool
	}{
		"fractional utc": {"2022-03-31T00:16:05.3068718Z", "2022-03-31T00:16:05.3068718Z", true},
		"offset":         {"2022-03-31T02:16:05+02:00", "2022-03-31T00:16:05Z", true},
		"no zone":        {"2022-03-31T00:16:05", "2022-03-31T00:16:05Z", true},
		"zero":           {"0001-01-01T00:00:00Z", "0001-01-01T00:00:00Z", false},
		"empty":          {"", "0001-01-01T00:00:00Z", false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, ok := SecretState{ExpirationDate: tc.in}.Expiration()
			if diff := cmp.Diff(fmt.Sprint(tc.want, tc.wantOK), fmt.Sprint(got.Format(time.RFC3339Nano), ok)); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}
