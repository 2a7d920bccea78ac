package hub

import (
	"context"
	"crypto/tls"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestRequestFaults(t *testing.T) {
	// Each case injects faults, sends the same GET three times and compares
	// statuses and the faults the request log names.
	type want struct {
		Statuses []int
		Faults   []string
	}
	tests := map[string]struct {
		faults []Fault
		want   want
		check  func(t *testing.T, f *fixture, last response)
	}{
		"throttle once": {
			faults: []Fault{{Kind: FaultThrottle, Path: "/productdeployments", RetryAfter: 17 * time.Second}},
			want:   want{[]int{429, 200, 200}, []string{"throttle", "", ""}},
		},
		"server error storm": {
			faults: []Fault{{Kind: FaultServerError, Method: "GET", Times: 2}},
			want:   want{[]int{500, 500, 200}, []string{"server-error", "server-error", ""}},
		},
		"every request fails": {
			faults: []Fault{{Kind: FaultServerError, Times: -1}},
			want:   want{[]int{500, 500, 500}, []string{"server-error", "server-error", "server-error"}},
		},
		"skip then fail": {
			faults: []Fault{{Kind: FaultServerError, Skip: 1}},
			want:   want{[]int{200, 500, 200}, []string{"", "server-error", ""}},
		},
		"other method does not match": {
			faults: []Fault{{Kind: FaultServerError, Method: "POST"}},
			want:   want{[]int{200, 200, 200}, []string{"", "", ""}},
		},
		"other path does not match": {
			faults: []Fault{{Kind: FaultThrottle, Path: "/operationresults/"}},
			want:   want{[]int{200, 200, 200}, []string{"", "", ""}},
		},
		"token expiry mid-run": {
			faults: []Fault{{Kind: FaultExpireTokens, Path: "/productDeployments", Skip: 1}},
			want:   want{[]int{200, 401, 401}, []string{"", "expire-tokens", ""}},
			check: func(t *testing.T, f *fixture, last response) {
				if last.armCode() != "ExpiredAuthenticationToken" {
					t.Errorf("after expiry: %s", last.Body)
				}
				f.tok = "" // a new token works
				if res := f.do(http.MethodGet, f.arm("/productDeployments"), nil); res.Status != 200 {
					t.Errorf("with a new token: %d %s", res.Status, res.Body)
				}
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := start(t, Options{})
			f.token(f.srv.Audience()) // token requests before the faults
			f.tok = f.token(f.srv.Audience())
			for _, flt := range tc.faults {
				f.srv.Inject(flt)
			}
			n := len(f.srv.Calls())
			var got want
			var last response
			for range 3 {
				last = f.do(http.MethodGet, f.arm("/productDeployments"), nil)
				got.Statuses = append(got.Statuses, last.Status)
				if last.Status == 429 && last.Header.Get("Retry-After") != "17" {
					t.Errorf("429 with Retry-After %q", last.Header.Get("Retry-After"))
				}
				if last.Status >= 429 && last.armCode() == "" {
					t.Errorf("fault response is not an ARM error: %s", last.Body)
				}
			}
			for _, c := range f.srv.Calls()[n:] {
				got.Faults = append(got.Faults, c.Fault)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if tc.check != nil {
				tc.check(t, f, last)
			}
		})
	}
}

func TestLatencyFollowsTheClock(t *testing.T) {
	f := start(t, Options{})
	f.tok = f.token(f.srv.Audience())
	f.srv.Inject(Fault{Kind: FaultLatency, Path: "/productDeployments", Delay: 30 * time.Second})
	done := make(chan response)
	go func() { done <- f.do(http.MethodGet, f.arm("/productDeployments"), nil) }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := f.clk.BlockUntil(ctx, 1); err != nil {
		t.Fatal("the delayed request never waited on the clock")
	}
	select {
	case <-done:
		t.Fatal("answered before the clock advanced")
	default:
	}
	f.clk.Advance(30 * time.Second)
	if res := <-done; res.Status != 200 {
		t.Errorf("after the delay: %d %s", res.Status, res.Body)
	}
	calls := f.srv.Calls()
	if c := calls[len(calls)-1]; c.Fault != "latency" || c.Status != 200 {
		t.Errorf("log entry %+v", c)
	}
}

func TestConnectionReset(t *testing.T) {
	tests := map[string]bool{"http/2": true, "http/1.1": false}
	for name, h2 := range tests {
		t.Run(name, func(t *testing.T) {
			f := start(t, Options{})
			if !h2 {
				tr := &http.Transport{
					TLSClientConfig: &tls.Config{RootCAs: f.srv.CA().Pool()},
					TLSNextProto:    map[string]func(string, *tls.Conn) http.RoundTripper{},
				}
				f.hc = &http.Client{Transport: tr}
				t.Cleanup(tr.CloseIdleConnections)
			}
			f.tok = f.token(f.srv.Audience())
			f.srv.Inject(Fault{Kind: FaultConnectionReset, Method: "POST", Path: "rotateSecrets"})
			req, _ := http.NewRequest(http.MethodPost, f.srv.URL()+f.arm("/productDeployments/microsoft.eventhub/rotateSecrets"), nil)
			req.Header.Set("Authorization", "Bearer "+f.tok)
			res, err := f.hc.Do(req)
			if err == nil {
				res.Body.Close()
				t.Fatalf("request survived a reset: %s", res.Status)
			}
			calls := f.srv.Calls()
			if c := calls[len(calls)-1]; c.Fault != "connection-reset" || c.Status != 0 {
				t.Errorf("log entry %+v", c)
			}
			if got := f.srv.State().Product("microsoft.eventhub").RotateSecretsCalls; got != 0 {
				t.Errorf("the reset request reached the stamp (%d rotateSecrets calls)", got)
			}
			// The next request works.
			if op := f.rotate("microsoft.eventhub"); op == "" {
				t.Error("no operation after the reset")
			}
		})
	}
}

func TestVanishingOperation(t *testing.T) {
	tests := map[string]bool{"injected while running": true, "queued for the next rotation": false}
	for name, running := range tests {
		t.Run(name, func(t *testing.T) {
			f := start(t, Options{})
			var op string
			if running {
				op = f.rotate("microsoft.sqlrp")
				f.srv.Inject(Fault{Kind: FaultVanishOperation, Product: "microsoft.sqlrp"})
			} else {
				f.srv.Inject(Fault{Kind: FaultVanishOperation, Product: "microsoft.sqlrp"})
				f.rotate("microsoft.eventhub") // not this product's rotation
				op = f.rotate("microsoft.sqlrp")
			}
			if res := f.do(http.MethodGet, op, nil); res.Status != 404 || res.armCode() != "ResourceNotFound" {
				t.Errorf("vanished operation: %d %s", res.Status, res.Body)
			}
			f.clk.Advance(15 * time.Minute)
			d := decode[deploymentJSON](t, f.do(http.MethodGet, f.arm("/productDeployments/microsoft.sqlrp"), nil))
			if d.Properties.Status != StatusSecretRotationSucceeded {
				t.Errorf("the rotation did not go on: %s", d.Properties.Status)
			}
			if !running {
				eh := f.srv.State().Operations[0]
				if eh.Vanished {
					t.Error("the fault for microsoft.sqlrp hid microsoft.eventhub's operation")
				}
			}
		})
	}
}

func TestInvalidFaultsPanic(t *testing.T) {
	tests := map[string]Fault{
		"no kind":         {},
		"latency no time": {Kind: FaultLatency},
		"fail at 100":     {Kind: FaultFailRotation, AtPercent: 100},
	}
	f := start(t, Options{})
	for name, flt := range tests {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("Inject accepted an invalid fault")
				}
			}()
			f.srv.Inject(flt)
		})
	}
	if _, err := Open(Options{Faults: []Fault{{Kind: FaultLatency}}}); err == nil {
		t.Error("Open accepted an invalid fault")
	}
}
