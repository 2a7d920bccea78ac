package hub

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/clock"
)

// TestHandlerEmbedded serves the stamp from another server, as a caller
// embedding it would: absolute URLs follow that server's address.
func TestHandlerEmbedded(t *testing.T) {
	s := New(Options{Clock: clock.NewFake(epoch), Clients: []Client{{ID: testClientID, Secret: canaryClientSecr}}})
	ts := httptest.NewTLSServer(s.Handler())
	defer ts.Close()
	res, err := ts.Client().Get(ts.URL + "/metadata/endpoints?api-version=2015-01-01")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var md metadata
	if err := json.NewDecoder(res.Body).Decode(&md); err != nil {
		t.Fatal(err)
	}
	if md.Authentication.LoginEndpoint != ts.URL+"/adfs/" {
		t.Errorf("login endpoint %q, want %q", md.Authentication.LoginEndpoint, ts.URL+"/adfs/")
	}
	tr, err := ts.Client().PostForm(ts.URL+"/adfs/oauth2/token/", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {testClientID}, "client_secret": {canaryClientSecr},
		"scope": {s.Audience() + "/.default"},
	})
	if err != nil {
		t.Fatal(err)
	}
	tr.Body.Close()
	if tr.StatusCode != 200 {
		t.Errorf("token through the embedded handler: %s", tr.Status)
	}
}

// TestScaledClock runs a four-hour rotation in four (fake) seconds of base
// time, as a demo does with clock.Scaled over the wall clock.
func TestScaledClock(t *testing.T) {
	base := clock.NewFake(epoch)
	f := start(t, Options{Clock: clock.NewScaled(base, epoch, 3600)})
	op := f.rotate("microsoft.eventhub")
	base.Advance(2 * time.Second)
	if got := decode[operationJSON](t, f.do(http.MethodGet, op, nil)); got.PercentComplete != 50 {
		t.Errorf("after 2 s at 3600x: %+v", got)
	}
	base.Advance(2 * time.Second)
	if got := decode[operationJSON](t, f.do(http.MethodGet, op, nil)); got.Status != OpSucceeded {
		t.Errorf("after 4 s at 3600x: %+v", got)
	}
	// A latency fault waits on the scaled clock too.
	f.srv.Inject(Fault{Kind: FaultLatency, Delay: time.Hour})
	done := make(chan int)
	go func() { done <- f.do(http.MethodGet, f.arm("/productDeployments"), nil).Status }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := base.BlockUntil(ctx, 1); err != nil {
		t.Fatal(err)
	}
	base.Advance(time.Second)
	if got := <-done; got != 200 {
		t.Errorf("delayed request: %d", got)
	}
}
