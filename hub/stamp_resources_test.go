package hub

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/runbook-dev/runbook/sim/certs"
)

const armPrefix = "/subscriptions/" + testSubscription + "/providers/Microsoft.Deployment.Admin/locations/global"

// armRoutes registers the admin ARM resources, all behind bearer tokens.
func (s *stamp) armRoutes(mux *http.ServeMux) {
	auth := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("api-version") == "" {
				armError(w, 400, "MissingApiVersionParameter", "The api-version query parameter is required.")
				return
			}
			tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			s.mu.Lock()
			exp, known := s.tokens[tok]
			now := s.clock.Now()
			s.mu.Unlock()
			switch {
			case !ok || !known:
				armError(w, 401, "InvalidAuthenticationToken", "The access token is invalid.")
			case !now.Before(exp):
				armError(w, 401, "ExpiredAuthenticationToken", "The access token expiry UTC time '"+exp.Format(time.RFC1123)+"' is earlier than current UTC time.")
			default:
				h(w, r)
			}
		}
	}
	mux.HandleFunc("GET /subscriptions", auth(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("page") == "" {
			writeJSON(w, 200, map[string]any{
				"value":    []any{map[string]any{"id": "/subscriptions/1111", "subscriptionId": "1111", "displayName": "Metering Subscription", "state": "Enabled"}},
				"nextLink": s.srv.URL + "/subscriptions?api-version=2016-05-01&page=2",
			})
			return
		}
		writeJSON(w, 200, map[string]any{"value": []any{map[string]any{
			"id": "/subscriptions/" + testSubscription, "subscriptionId": testSubscription,
			"displayName": "Default Provider Subscription", "state": "Enabled", "tenantId": "adfs"}}})
	}))
	mux.HandleFunc("GET "+armPrefix+"/productDeployments", auth(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"value": []any{s.deployment("microsoft.eventhub"), s.deployment("microsoft.sqlrp")}})
	}))
	mux.HandleFunc("GET "+armPrefix+"/productDeployments/{id}", auth(func(w http.ResponseWriter, r *http.Request) {
		if d := s.deployment(strings.ToLower(r.PathValue("id"))); d != nil {
			writeJSON(w, 200, d)
			return
		}
		armError(w, 404, "ProductDeploymentNotFound", "Product deployment '"+r.PathValue("id")+"' was not found.")
	}))
	mux.HandleFunc("POST "+armPrefix+"/productDeployments/{id}/rotateSecrets", auth(s.rotate))
	mux.HandleFunc("GET "+armPrefix+"/productPackages", auth(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"value": []any{s.pkg("microsoft.eventhub.1.2003.0.0")}})
	}))
	mux.HandleFunc("GET "+armPrefix+"/productPackages/{pkg}", auth(func(w http.ResponseWriter, r *http.Request) {
		if strings.EqualFold(r.PathValue("pkg"), "microsoft.eventhub.1.2003.0.0") {
			writeJSON(w, 200, s.pkg("microsoft.eventhub.1.2003.0.0"))
			return
		}
		armError(w, 404, "ProductPackageNotFound", "Product package '"+r.PathValue("pkg")+"' was not found.")
	}))
	mux.HandleFunc("GET "+armPrefix+"/productPackages/{pkg}/secrets", auth(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"value": []any{s.secret("aseh-ssl-gateway-pfx"), s.secret("aseh-sql-password")}})
	}))
	mux.HandleFunc("GET "+armPrefix+"/productPackages/{pkg}/secrets/{name}", auth(func(w http.ResponseWriter, r *http.Request) {
		if sec := s.secret(r.PathValue("name")); sec != nil {
			writeJSON(w, 200, sec)
			return
		}
		armError(w, 404, "SecretNotFound", "Secret '"+r.PathValue("name")+"' was not found.")
	}))
	mux.HandleFunc("POST "+armPrefix+"/productPackages/{pkg}/secrets/{name}/{action}", auth(s.importSecret))
	mux.HandleFunc("GET "+armPrefix+"/operationResults/{op}", auth(s.operation))
}

func (s *stamp) deployment(id string) map[string]any {
	versions := map[string]string{"microsoft.eventhub": "1.2003.0.0", "microsoft.sqlrp": "2.0.0.2"}
	v, ok := versions[id]
	if !ok {
		return nil
	}
	s.mu.Lock()
	status := s.deployed
	s.mu.Unlock()
	if id != "microsoft.eventhub" {
		status = "DeploymentSucceeded"
	}
	return map[string]any{
		"id": armPrefix + "/productDeployments/" + id, "name": "global/" + id,
		"type": "Microsoft.Deployment.Admin/locations/productDeployments",
		"properties": map[string]any{
			"status": status, "subscriptionId": "c0ffee00-rp", "provisioningState": "Succeeded",
			"deployment":               map[string]any{"version": v, "actionPlanInstanceResourceId": armPrefix + "/actionplans/1", "parameters": map[string]any{}},
			"internalState":            map[string]any{"futureField": []int{1, 2}}, // unknown to the client
			"externalAccess":           map[string]any{"principalId": "p"},
			"lastSuccessfulDeployment": map[string]any{"version": v},
		},
	}
}

func (s *stamp) pkg(id string) map[string]any {
	return map[string]any{"id": armPrefix + "/productPackages/" + id, "name": "global/" + id,
		"type": "Microsoft.Deployment.Admin/locations/productPackages",
		"properties": map[string]any{"fileContainerId": id, "isDeployable": true, "isUpdatable": false,
			"productDeploymentId": armPrefix + "/productDeployments/microsoft.eventhub", "provisioningState": "Succeeded",
			"computeRole": "None"}}
}

func (s *stamp) secret(name string) map[string]any {
	kinds := map[string]string{"aseh-ssl-gateway-pfx": "Certificate", "aseh-sql-password": "Password"}
	kind, ok := kinds[name]
	if !ok {
		return nil
	}
	s.mu.Lock()
	status := s.secrets[name]
	s.mu.Unlock()
	pkg := "microsoft.eventhub.1.2003.0.0"
	return map[string]any{"id": armPrefix + "/productPackages/" + pkg + "/secrets/" + name,
		"name": "global/" + pkg + "/" + name, "type": "Microsoft.Deployment.Admin/locations/productPackages/secrets",
		"properties": map[string]any{"secretKind": kind, "description": "test secret", "expiresAfter": "P730D",
			"secretDescriptor":  map[string]any{"subject": "CN=x", "keyLength": 2048},
			"secretState":       map[string]any{"status": status, "rotationStatus": "None", "expirationDate": "2027-03-31T00:16:05.3068718Z"},
			"provisioningState": "Succeeded"}}
}

// importSecret serves validate and import of a certificate secret.
func (s *stamp) importSecret(w http.ResponseWriter, r *http.Request) {
	action, name := r.PathValue("action"), r.PathValue("name")
	if action != "validate" && action != "import" {
		armError(w, 404, "NotFound", "no action "+action)
		return
	}
	if s.secret(name) == nil {
		armError(w, 404, "SecretNotFound", "Secret '"+name+"' was not found.")
		return
	}
	raw, _ := io.ReadAll(r.Body)
	var body struct{ Data, Password string }
	if err := json.Unmarshal(raw, &body); err != nil {
		armError(w, 400, "InvalidRequestContent", err.Error())
		return
	}
	pfx, err := base64.StdEncoding.DecodeString(body.Data)
	if err != nil {
		armError(w, 400, "InvalidCertificate", "data is not base64")
		return
	}
	if _, err := certs.ReadPFX(pfx, body.Password); err != nil {
		msg := "The certificate password does not open the PFX."
		if s.echoSecrets {
			msg = fmt.Sprintf("The password %q does not open the PFX %s.", body.Password, body.Data)
		}
		armError(w, 400, "InvalidCertificatePassword", msg)
		return
	}
	if action == "import" {
		s.mu.Lock()
		s.secrets[name] = "Uploaded"
		s.mu.Unlock()
	}
	w.WriteHeader(http.StatusOK)
}

// rotate starts a rotation: 202 + Azure-AsyncOperation + Location +
// Retry-After, or the variants the flags ask for; 409 while one runs.
func (s *stamp) rotate(w http.ResponseWriter, r *http.Request) {
	id := strings.ToLower(r.PathValue("id"))
	if s.deployment(id) == nil {
		armError(w, 404, "ProductDeploymentNotFound", "Product deployment '"+id+"' was not found.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running != "" {
		armError(w, 409, "Conflict", "A secret rotation of "+id+" is already in progress.")
		return
	}
	s.rotations++
	if s.syncRotate {
		w.WriteHeader(http.StatusOK)
		return
	}
	s.nextOpID++
	op := &rotationOp{id: fmt.Sprintf("op-%04d", s.nextOpID), product: id, start: s.clock.Now()}
	s.ops[op.id] = op
	s.running = op.id
	s.deployed = "SecretRotationInProgress"
	u := s.srv.URL + armPrefix + "/operationResults/" + op.id + "?api-version=2019-01-01"
	if !s.locationOnly {
		w.Header().Set("Azure-AsyncOperation", u)
	}
	w.Header().Set("Location", u)
	w.Header().Set("Retry-After", fmt.Sprint(s.pollAfter))
	w.WriteHeader(http.StatusAccepted)
}

// operation reports a rotation's progress, computed from the clock.
func (s *stamp) operation(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	op, ok := s.ops[r.PathValue("op")]
	if !ok {
		armError(w, 404, "OperationNotFound", "Operation '"+r.PathValue("op")+"' was not found.")
		return
	}
	elapsed := s.clock.Now().Sub(op.start)
	pct := min(100, 100*float64(elapsed)/float64(s.rotation))
	body := map[string]any{"id": armPrefix + "/operationResults/" + op.id, "name": op.id,
		"startTime": op.start.Format(time.RFC3339), "endTime": "0001-01-01T00:00:00Z", "percentComplete": pct}
	code := http.StatusOK
	switch {
	case s.failAt > 0 && pct >= s.failAt:
		body["status"], body["percentComplete"] = "Failed", s.failAt
		body["error"] = map[string]any{"code": "SecretRotationFailed",
			"message": "Step 'RestartGateway' failed: the gateway VM did not come back within 30 minutes."}
		s.deployed, s.running = "SecretRotationFailed", ""
	case pct >= 100:
		body["status"], body["endTime"] = "Succeeded", s.clock.Now().Format(time.RFC3339)
		s.deployed, s.running = "SecretRotationSucceeded", ""
		for k := range s.secrets {
			s.secrets[k] = "Deployed"
		}
	default:
		body["status"] = "RotatingSecrets"
		w.Header().Set("Retry-After", fmt.Sprint(s.pollAfter))
		if s.locationOnly {
			code = http.StatusAccepted
		}
	}
	writeJSON(w, code, body)
}

// vanish forgets every operation, as a stamp whose RP restarted might.
func (s *stamp) vanish() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ops = map[string]*rotationOp{}
}
