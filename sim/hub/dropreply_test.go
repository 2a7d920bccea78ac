package hub

import (
	"crypto/tls"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestDropReply serves rotateSecrets and loses its reply: the client sees
// a broken connection, while the stamp has started the rotation (a second
// rotateSecrets is a conflict) and logs the request with its real status.
func TestDropReply(t *testing.T) {
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
			f.srv.Inject(Fault{Kind: FaultDropReply, Method: "POST", Path: "rotateSecrets"})
			req, _ := http.NewRequest(http.MethodPost, f.srv.URL()+f.arm("/productDeployments/microsoft.eventhub/rotateSecrets"), nil)
			req.Header.Set("Authorization", "Bearer "+f.tok)
			res, err := f.hc.Do(req)
			if err == nil {
				res.Body.Close()
				t.Fatalf("the reply arrived: %s", res.Status)
			}
			calls := f.srv.Calls()
			type entry struct {
				Fault  string
				Status int
			}
			last := calls[len(calls)-1]
			if diff := cmp.Diff(entry{"drop-reply", http.StatusAccepted}, entry{last.Fault, last.Status}); diff != "" {
				t.Errorf("log entry (-want +got):\n%s", diff)
			}
			p := f.srv.State().Product("microsoft.eventhub")
			if p.RotateSecretsCalls != 1 || p.Status != StatusSecretRotationRunning {
				t.Errorf("after the lost reply: %d rotateSecrets calls, status %s; want 1, %s", p.RotateSecretsCalls, p.Status, StatusSecretRotationRunning)
			}
			if res := f.do(http.MethodPost, f.arm("/productDeployments/microsoft.eventhub/rotateSecrets"), nil); res.Status != http.StatusConflict {
				t.Errorf("a second rotateSecrets: %d %s, want 409", res.Status, res.Body)
			}
		})
	}
}
