package hub

// A test double of a stamp, served over loopback TLS: metadata discovery,
// an AD FS or Entra style identity provider, the admin ARM resources that
// secret rotation reads and writes, and fault injection. It runs on the
// test's clock.Fake, so token lifetimes and rotation progress are virtual.
// (The shared simulator lives in sim/hub; this double keeps the client's
// tests independent of it and lets them plant faults the simulator may not
// have.)

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/clock"
	"github.com/runbook-dev/runbook/sim/certs"
)

const (
	canaryClientSecret = "canary-client-secret-7f3a9c!"
	canaryPFXPassword  = "canary-pfx-pass-Q7#x"
	testClientID       = "0a1b2c3d-client"
	testEntraTenant    = "8f9e7d6c-5b4a-3c2d-1e0f-a9b8c7d6e5f4"
	testSubscription   = "a6f1b9c2-0000-4000-8000-00000000d9f1"
	testAudience       = "https://adminmanagement.local.azurestack.external/3f1e0b37-a7d4-4a5b-9b5e-2f4b1c0d9e8a"
)

// stamp is the double. Fields above mu are set before serving.
type stamp struct {
	t        *testing.T
	clock    *clock.Fake
	ca       *certs.CA
	srv      *httptest.Server
	adfs     bool
	cert     *x509.Certificate // registered client certificate, if any
	tokenTTL time.Duration

	rotation     time.Duration // how long a rotation takes
	pollAfter    int           // Retry-After (s) on operation status
	failAt       float64       // percent at which the rotation fails; 0 never
	syncRotate   bool          // rotateSecrets answers 200 without headers
	locationOnly bool          // rotateSecrets answers 202 with Location only
	echoSecrets  bool          // error messages quote the secrets they got (a careless server)

	mu          sync.Mutex
	tokens      map[string]time.Time // access token → expiry on the stamp's clock
	issued      int
	calls       []string
	faults      []*fault
	ops         map[string]*rotationOp
	secrets     map[string]string // secret name → status
	deployed    string            // deployment status
	running     string            // id of the rotation in progress
	nextOpID    int
	rotations   int
	devicePolls int
	refreshes   int
}

// fault makes the next `times` requests whose "METHOD path" ends in match
// fail: with status (plus header and body), or by resetting the connection.
type fault struct {
	match  string
	times  int
	status int
	header map[string]string
	body   string
	reset  bool
}

type rotationOp struct {
	id      string
	product string
	start   time.Time
}

// newStamp starts a double; adfs picks the identity provider's style.
func newStamp(t *testing.T, f *clock.Fake, adfs bool) *stamp {
	t.Helper()
	ca, err := certs.NewCA(certs.DefaultCAName, time.Unix(0, 0), time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	// The TLS stack checks validity on the wall clock, so the server
	// certificate spans a wide range rather than the fake clock's now.
	tlsCert, err := ca.IssueServer([]string{"127.0.0.1"}, time.Unix(0, 0), time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	s := &stamp{
		t: t, clock: f, ca: ca, adfs: adfs, tokenTTL: time.Hour,
		rotation: 4 * time.Hour, pollAfter: 60,
		tokens: map[string]time.Time{}, ops: map[string]*rotationOp{},
		secrets:  map[string]string{"aseh-ssl-gateway-pfx": "Deployed", "aseh-sql-password": "Deployed"},
		deployed: "DeploymentSucceeded",
	}
	s.srv = httptest.NewUnstartedServer(s.routes())
	s.srv.TLS = &tls.Config{Certificates: []tls.Certificate{tlsCert}}
	s.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // handshakes the TLS tests make fail on purpose
	s.srv.StartTLS()
	t.Cleanup(s.srv.Close)
	return s
}

// loginEndpoint is what discovery announces.
func (s *stamp) loginEndpoint() string {
	if s.adfs {
		return s.srv.URL + "/adfs/"
	}
	return s.srv.URL + "/"
}

func (s *stamp) addFault(f *fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, f)
}

// callsMatching counts the requests whose "METHOD path" ends in sub.
func (s *stamp) callsMatching(sub string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.calls {
		if strings.HasSuffix(c, sub) {
			n++
		}
	}
	return n
}

func (s *stamp) tokenCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issued
}

// ServeHTTP records the call and applies the first matching fault.
func (s *stamp) serve(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		call := r.Method + " " + r.URL.Path
		s.mu.Lock()
		s.calls = append(s.calls, call)
		var hit *fault
		for _, f := range s.faults {
			if f.times > 0 && strings.HasSuffix(call, f.match) {
				f.times--
				hit = f
				break
			}
		}
		s.mu.Unlock()
		switch {
		case hit == nil:
			next.ServeHTTP(w, r)
		case hit.reset:
			conn, _, err := w.(http.Hijacker).Hijack()
			if err != nil {
				s.t.Errorf("hijack: %v", err)
				return
			}
			if tc, ok := conn.(*tls.Conn); ok {
				if nc, ok := tc.NetConn().(*net.TCPConn); ok {
					_ = nc.SetLinger(0) // RST rather than FIN
				}
			}
			_ = conn.Close()
		default:
			for k, v := range hit.header {
				w.Header().Set(k, v)
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(hit.status)
			fmt.Fprint(w, hit.body)
		}
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func armError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{"code": code, "message": msg, "details": []any{}}})
}

func (s *stamp) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metadata/endpoints", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{
			"galleryEndpoint": s.srv.URL + ":30016/", "graphEndpoint": s.srv.URL + "/graph/",
			"portalEndpoint": s.srv.URL + "/portal/",
			"authentication": map[string]any{"loginEndpoint": s.loginEndpoint(), "audiences": []string{testAudience}},
		})
	})
	mux.HandleFunc("GET /adfs/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		base := "https://" + r.Host + "/adfs"
		writeJSON(w, 200, map[string]string{"issuer": base, "authorization_endpoint": base + "/oauth2/authorize/",
			"token_endpoint": base + "/oauth2/token/"})
	})
	mux.HandleFunc("POST /adfs/oauth2/token/{$}", s.token)
	mux.HandleFunc("GET /{tenant}/v2.0/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		base := "https://" + r.Host + "/" + r.PathValue("tenant")
		writeJSON(w, 200, map[string]string{"issuer": base + "/v2.0", "authorization_endpoint": base + "/oauth2/v2.0/authorize",
			"token_endpoint": base + "/oauth2/v2.0/token"})
	})
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/token", s.token)
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/devicecode", s.deviceCode)
	s.armRoutes(mux)
	return s.serve(mux)
}

// token is the token endpoint: client credentials with a secret or a signed
// assertion from the registered certificate.
func (s *stamp) token(w http.ResponseWriter, r *http.Request) {
	oauthErr := func(code, desc string) {
		writeJSON(w, 401, map[string]string{"error": code, "error_description": desc})
	}
	if err := r.ParseForm(); err != nil {
		oauthErr("invalid_request", err.Error())
		return
	}
	if !s.adfs && r.PathValue("tenant") != testEntraTenant {
		oauthErr("invalid_tenant", "unknown tenant "+r.PathValue("tenant"))
		return
	}
	if r.Form.Get("grant_type") == "client_credentials" && r.Form.Get("client_id") != testClientID {
		oauthErr("unauthorized_client", "unknown client "+r.Form.Get("client_id"))
		return
	}
	if !strings.Contains(r.Form.Get("scope"), testAudience+"/.default") {
		oauthErr("invalid_scope", "scope "+r.Form.Get("scope"))
		return
	}
	switch g := r.Form.Get("grant_type"); {
	case g == "device_code" || g == "urn:ietf:params:oauth:grant-type:device_code":
		s.deviceToken(w, r)
		return
	case g == "refresh_token" && r.Form.Get("refresh_token") == "rt-1":
		s.mu.Lock()
		s.refreshes++
		s.mu.Unlock()
		s.userToken(w, r)
		return
	}
	switch {
	case r.Form.Has("client_secret"):
		if got := r.Form.Get("client_secret"); got != canaryClientSecret {
			desc := "the client secret is wrong"
			if s.echoSecrets {
				desc = "the client secret '" + got + "' is wrong"
			}
			oauthErr("invalid_client", desc)
			return
		}
	case r.Form.Has("client_assertion"):
		endpoint := "https://" + r.Host + r.URL.Path
		if err := s.checkAssertion(r.Form.Get("client_assertion"), endpoint); err != nil {
			oauthErr("invalid_client", err.Error())
			return
		}
	default:
		oauthErr("invalid_client", "no client credential")
		return
	}
	writeJSON(w, 200, map[string]any{"access_token": s.issue(), "token_type": "Bearer", "expires_in": int(s.tokenTTL.Seconds())})
}

// issue mints an opaque access token valid for tokenTTL on the stamp's clock.
func (s *stamp) issue() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.issued++
	tok := fmt.Sprintf("access-token-%d", s.issued)
	s.tokens[tok] = s.clock.Now().Add(s.tokenTTL)
	return tok
}

// checkAssertion verifies a client assertion JWT against the registered
// certificate: RS256 with x5t (SHA-1) on AD FS, PS256 with x5t#S256 on
// Entra, aud = the token endpoint, iss = sub = the client id.
func (s *stamp) checkAssertion(jwt, endpoint string) error {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 || s.cert == nil {
		return fmt.Errorf("malformed assertion or no registered certificate")
	}
	var hdr map[string]string
	var claims map[string]any
	for i, v := range []any{&hdr, &claims} {
		raw, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil || json.Unmarshal(raw, v) != nil {
			return fmt.Errorf("malformed assertion part %d", i)
		}
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return err
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	pub := s.cert.PublicKey.(*rsa.PublicKey)
	if s.adfs {
		want := sha1.Sum(s.cert.Raw)
		if hdr["alg"] != "RS256" || hdr["x5t"] != base64.StdEncoding.EncodeToString(want[:]) {
			return fmt.Errorf("want RS256 and x5t of the registered certificate, got %v", hdr)
		}
		err = rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig)
	} else {
		want := sha256.Sum256(s.cert.Raw)
		if hdr["alg"] != "PS256" || hdr["x5t#S256"] != base64.RawURLEncoding.EncodeToString(want[:]) &&
			hdr["x5t#S256"] != base64.StdEncoding.EncodeToString(want[:]) {
			return fmt.Errorf("want PS256 and x5t#S256 of the registered certificate, got %v", hdr)
		}
		err = rsa.VerifyPSS(pub, crypto.SHA256, digest[:], sig, nil)
	}
	if err != nil {
		return fmt.Errorf("assertion signature: %v", err)
	}
	if claims["aud"] != endpoint || claims["iss"] != testClientID || claims["sub"] != testClientID {
		return fmt.Errorf("assertion claims %v, want aud %s", claims, endpoint)
	}
	return nil
}

// deviceCode starts a device code sign-in (Entra style).
func (s *stamp) deviceCode(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, 200, map[string]any{"device_code": "dc-1", "user_code": "RBK-42", "expires_in": 900, "interval": 1,
		"verification_uri": "https://" + r.Host + "/devicelogin",
		"message":          "To sign in, open https://" + r.Host + "/devicelogin and enter the code RBK-42."})
}

// deviceToken answers the device code poll: pending once, then a token
// with the account information a public client keeps.
func (s *stamp) deviceToken(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.devicePolls++
	first := s.devicePolls == 1
	s.mu.Unlock()
	if first {
		writeJSON(w, 400, map[string]string{"error": "authorization_pending", "error_description": "waiting for the operator"})
		return
	}
	s.userToken(w, r)
}

// userToken answers a user's token request with the account information a
// public client keeps and a refresh token.
func (s *stamp) userToken(w http.ResponseWriter, r *http.Request) {
	tenant := r.PathValue("tenant")
	b64 := func(v any) string {
		j, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(j)
	}
	idToken := b64(map[string]string{"alg": "none", "typ": "JWT"}) + "." + b64(map[string]any{
		"iss": "https://" + r.Host + "/" + tenant + "/v2.0", "aud": r.Form.Get("client_id"), "tid": tenant,
		"oid": "operator-oid", "sub": "operator", "preferred_username": "operator@contoso.com",
		"iat": s.clock.Now().Unix(), "exp": s.clock.Now().Add(time.Hour).Unix()}) + "."
	writeJSON(w, 200, map[string]any{"access_token": s.issue(), "token_type": "Bearer", "expires_in": int(s.tokenTTL.Seconds()),
		"scope": testAudience + "/.default", "id_token": idToken, "refresh_token": "rt-1",
		"client_info": b64(map[string]string{"uid": "operator-oid", "utid": tenant})})
}
