package hub

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/clock"
)

var epoch = time.Date(2026, 11, 28, 22, 0, 0, 0, time.UTC)

// Canaries: planted secrets that must never appear in any output.
const (
	testClientID      = "5e0c1f9a-7d3b-4c1e-9a2b-0f6d8e4c2a11"
	canaryClientSecr  = "canary-client-secret-7Q4zX"
	canaryPFXPassword = "canary-pfx-password-K8wM2"
)

// fixture is a started stamp on a fake clock with one secret client.
type fixture struct {
	t   *testing.T
	srv *Server
	clk *clock.Fake
	hc  *http.Client
	tok string
}

// start starts a stamp with opts; unset Clock, Clients and TokenLifetime get
// test defaults (a fake clock at epoch, one client with a canary secret, a
// two-day token lifetime so hour-long rotations do not expire the token).
func start(t *testing.T, opts Options) *fixture {
	t.Helper()
	clk, _ := opts.Clock.(*clock.Fake)
	if opts.Clock == nil {
		clk = clock.NewFake(epoch)
		opts.Clock = clk
	}
	if opts.Clients == nil {
		opts.Clients = []Client{{ID: testClientID, Secret: canaryClientSecr}}
	}
	if opts.TokenLifetime == 0 {
		opts.TokenLifetime = 48 * time.Hour
	}
	srv, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	f := &fixture{t: t, srv: srv, clk: clk, hc: srv.Client()}
	t.Cleanup(f.hc.CloseIdleConnections)
	return f
}

// tokenURL is the token endpoint of the stamp's identity style.
func (f *fixture) tokenURL() string {
	if f.srv.opts.Identity == ADFS {
		return f.srv.URL() + "/adfs/oauth2/token/"
	}
	return f.srv.URL() + "/" + f.srv.Tenant() + "/oauth2/v2.0/token"
}

// requestToken posts a client-credentials request with form and returns
// status and decoded body.
func (f *fixture) requestToken(form url.Values) (int, map[string]any) {
	f.t.Helper()
	res, err := f.hc.PostForm(f.tokenURL(), form)
	if err != nil {
		f.t.Fatal(err)
	}
	defer res.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		f.t.Fatalf("token response: %v", err)
	}
	return res.StatusCode, body
}

// token returns an access token for audience from the secret client.
func (f *fixture) token(audience string) string {
	f.t.Helper()
	status, body := f.requestToken(url.Values{
		"grant_type": {"client_credentials"}, "client_id": {testClientID}, "client_secret": {canaryClientSecr},
		"scope": {audience + "/.default openid offline_access profile"},
	})
	if status != http.StatusOK {
		f.t.Fatalf("token: %d %v", status, body)
	}
	return body["access_token"].(string)
}

// response is a recorded HTTP response.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// armCode returns error.code of an ARM error body.
func (r response) armCode() string {
	var e armErrorBody
	_ = json.Unmarshal(r.Body, &e)
	return e.Error.Code
}

// do sends an ARM request with the fixture's token (fetched on first use)
// to path (absolute URL or path with query) and a JSON body if non-nil.
func (f *fixture) do(method, path string, body any) response {
	f.t.Helper()
	if f.tok == "" {
		f.tok = f.token(f.srv.Audience())
	}
	return f.doAuth(method, path, body, "Bearer "+f.tok)
}

func (f *fixture) doAuth(method, path string, body any, authz string) response {
	f.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			f.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	if !strings.HasPrefix(path, "https://") {
		path = f.srv.URL() + path
	}
	req, err := http.NewRequest(method, path, rd)
	if err != nil {
		f.t.Fatal(err)
	}
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
	}
	res, err := f.hc.Do(req)
	if err != nil {
		f.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	return response{Status: res.StatusCode, Header: res.Header, Body: b}
}

// arm is the path of a Deployment.Admin resource with the API version.
func (f *fixture) arm(rest string) string {
	return f.srv.prefix() + rest + "?api-version=2019-01-01"
}

// pfxBody is an import/validate body for a PFX.
func pfxBody(pfx []byte, password string) map[string]string {
	return map[string]string{"data": base64.StdEncoding.EncodeToString(pfx), "password": password}
}

// decode unmarshals a response body into v.
func decode[T any](t *testing.T, r response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(r.Body, &v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
	return v
}

// assertNoCanary fails if any canary secret occurs in texts.
func assertNoCanary(t *testing.T, where string, texts ...string) {
	t.Helper()
	for _, s := range texts {
		for _, c := range []string{canaryClientSecr, canaryPFXPassword} {
			if strings.Contains(s, c) {
				t.Errorf("%s contains the canary secret %q", where, c)
			}
		}
	}
}

// callsText renders the request log for canary checks.
func callsText(calls []Call) string {
	b, _ := json.Marshal(calls)
	return string(b)
}

// fakeAt returns a fake clock at t.
func fakeAt(t time.Time) *clock.Fake { return clock.NewFake(t) }
