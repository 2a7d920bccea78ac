package hub

import (
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Resource types of Microsoft.Deployment.Admin, as ARM names them.
const (
	typeDeployment = "Microsoft.Deployment.Admin/locations/productDeployments"
	typePackage    = "Microsoft.Deployment.Admin/locations/productPackages"
	typeSecret     = "Microsoft.Deployment.Admin/locations/productPackages/secrets"
)

// prefix is P of hub-api.md §4, the path every Deployment.Admin resource
// lives under.
func (s *Server) prefix() string {
	return "/subscriptions/" + s.SubscriptionID() + "/providers/Microsoft.Deployment.Admin/locations/global"
}

// routeDeploymentAdmin serves the paths below
// /subscriptions/{sub}/providers/Microsoft.Deployment.Admin/locations/global
// (segs and low are the remaining segments, as sent and lower-cased).
func (s *Server) routeDeploymentAdmin(w http.ResponseWriter, r *http.Request, segs, low []string) {
	if len(low) == 0 {
		writeARMError(w, http.StatusNotFound, "InvalidResourceType", "No resource type given under location 'global'.")
		return
	}
	versions := deploymentAPIVersions
	if low[0] == "productpackages" {
		versions = packageAPIVersions
	}
	if !checkAPIVersion(w, r, low[0], versions) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.beginLocked(w) {
		return
	}
	switch {
	case low[0] == "productdeployments" && len(low) == 1:
		if allowMethod(w, r, http.MethodGet) {
			out := make([]deploymentJSON, 0, len(s.st.Products))
			for i := range s.st.Products {
				out = append(out, s.deploymentJSON(&s.st.Products[i]))
			}
			writeAdminList(s, w, r, out)
		}
	case low[0] == "productdeployments" && len(low) == 2:
		if allowMethod(w, r, http.MethodGet) {
			if p := s.st.product(segs[1]); p != nil {
				writeJSON(w, http.StatusOK, s.deploymentJSON(p))
			} else {
				notFound(w, "product deployment", segs[1])
			}
		}
	case low[0] == "productdeployments" && len(low) == 3 && low[2] == "rotatesecrets":
		if allowMethod(w, r, http.MethodPost) {
			s.rotateSecretsLocked(w, r, segs[1])
		}
	case low[0] == "productdeployments" && len(low) == 3:
		writeARMError(w, http.StatusBadRequest, "UnsupportedOperation",
			"The simulated stamp does not support the action '%s' on product deployments.", segs[2])
	case low[0] == "productpackages":
		s.routePackagesLocked(w, r, segs, low)
	case low[0] == "operationresults" && len(low) == 2:
		if allowMethod(w, r, http.MethodGet) {
			s.operationResultLocked(w, segs[1])
		}
	default:
		writeARMError(w, http.StatusNotFound, "InvalidResourceType",
			"The resource type '%s' could not be found in the namespace 'Microsoft.Deployment.Admin'.", segs[0])
	}
}

// beginLocked brings the state up to the clock and writes a 500 if the
// state could not be saved.
func (s *Server) beginLocked(w http.ResponseWriter) bool {
	s.settleLocked()
	return s.saveOK(w)
}

// commitLocked saves the state after a mutation; on failure it writes a 500.
func (s *Server) commitLocked(w http.ResponseWriter) bool {
	s.saveErr = s.saveLocked()
	return s.saveOK(w)
}

func (s *Server) saveOK(w http.ResponseWriter) bool {
	if s.saveErr != nil {
		writeARMError(w, http.StatusInternalServerError, "InternalServerError",
			"The simulated stamp could not save its state: %v", s.saveErr)
		return false
	}
	return true
}

func notFound(w http.ResponseWriter, what, name string) {
	writeARMError(w, http.StatusNotFound, "ResourceNotFound", "The %s '%s' was not found.", what, name)
}

// deploymentJSON is a product deployment resource (SPEC ProductDeployment).
type deploymentJSON struct {
	ID         string          `json:"id"`
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	Properties deploymentProps `json:"properties"`
}

type deploymentProps struct {
	Status                   string          `json:"status"`
	SubscriptionID           string          `json:"subscriptionId"`
	Deployment               *deploymentInfo `json:"deployment,omitempty"`
	LastSuccessfulDeployment *deploymentInfo `json:"lastSuccessfulDeployment,omitempty"`
	SecretRotation           *secretRotation `json:"secretRotation,omitempty"`
	// Error is ExtendedErrorInfo, or bare with Replies.OperationErrors.
	Error             any    `json:"error,omitempty"`
	ProvisioningState string `json:"provisioningState"`
}

type deploymentInfo struct {
	Version                      string         `json:"version"`
	ActionPlanInstanceResourceID string         `json:"actionPlanInstanceResourceId"`
	Parameters                   map[string]any `json:"parameters"`
}

type secretRotation struct {
	SecretRotationPlanInstanceResourceID string `json:"secretRotationPlanInstanceResourceId"`
}

func (s *Server) deploymentJSON(p *ProductState) deploymentJSON {
	info := deploymentInfo{
		Version:                      p.Version,
		ActionPlanInstanceResourceID: s.prefix() + "/actionplans/" + guidFor("deploy-plan", p.ID, p.Version),
		Parameters:                   map[string]any{},
	}
	d := deploymentJSON{
		ID: s.prefix() + "/productDeployments/" + p.ID, Name: "global/" + p.ID, Type: typeDeployment,
		Properties: deploymentProps{
			Status:            p.Status,
			SubscriptionID:    guidFor("rp-subscription", p.ID, s.opts.Region, s.opts.ExternalFQDN),
			ProvisioningState: "Succeeded",
		},
	}
	if !p.BootstrapOnly {
		d.Properties.Deployment, d.Properties.LastSuccessfulDeployment = &info, &info
	}
	for i := len(s.st.Operations) - 1; i >= 0; i-- {
		if op := &s.st.Operations[i]; op.Product == p.ID {
			d.Properties.SecretRotation = &secretRotation{s.prefix() + "/actionplans/" + guidFor("rotation-plan", op.ID)}
			break
		}
	}
	if p.LastError != nil {
		d.Properties.Error = s.deploymentError(p.LastError)
	}
	return d
}

// rotateSecretsLocked starts a rotation of the product and answers as
// Options.RotateResponse says (by default 202 with Azure-AsyncOperation,
// Location and Retry-After), or 409 if one runs.
func (s *Server) rotateSecretsLocked(w http.ResponseWriter, r *http.Request, productID string) {
	p := s.st.product(productID)
	if p == nil {
		notFound(w, "product deployment", productID)
		return
	}
	p.RotateSecretsCalls++
	if p.BootstrapOnly {
		if s.commitLocked(w) {
			writeARMError(w, http.StatusConflict, "ProductNotDeployed",
				"The product '%s' is bootstrapped but not deployed; its secrets cannot be rotated.", p.ID)
		}
		return
	}
	if op := s.st.running(p.ID); op != nil {
		if s.commitLocked(w) {
			writeARMError(w, http.StatusConflict, "Conflict",
				"A secret rotation of product '%s' is already in progress (operation '%s', %s%% complete).",
				p.ID, op.ID, formatPercent(op.PercentComplete))
		}
		return
	}
	var failAt float64
	if len(p.PendingFailures) > 0 {
		failAt, p.PendingFailures = p.PendingFailures[0], p.PendingFailures[1:]
	}
	vanish, queuedFail := s.takeQueuedLocked(p.ID)
	if failAt == 0 {
		failAt = queuedFail
	}
	id := guidFor("operation", s.opts.Region, s.opts.ExternalFQDN, p.ID, strconv.Itoa(len(s.st.Operations)+1))
	s.st.startRotation(p, id, s.st.Now, failAt, vanish)
	if !s.commitLocked(w) {
		return
	}
	url := s.operationURL(r, id)
	w.Header().Set("Content-Length", "0")
	switch s.rotateResponse() {
	case RotateNoHeaders:
		w.WriteHeader(http.StatusOK)
		return
	case RotateBareAccepted:
		w.WriteHeader(http.StatusAccepted)
		return
	case RotateAsync:
		w.Header().Set("Azure-AsyncOperation", url)
	}
	w.Header().Set("Location", url)
	w.Header().Set("Retry-After", retryAfterSeconds(p.RetryAfter))
	w.WriteHeader(http.StatusAccepted)
}

func retryAfterSeconds(d time.Duration) string {
	return fmt.Sprint(int(d.Round(time.Second) / time.Second))
}

// operationJSON is an operation result (SPEC OperationResults). Error is
// not in the specification; it is sent only with Replies.OperationErrors.
type operationJSON struct {
	ID              string    `json:"id"`
	Name            string    `json:"name"`
	Status          string    `json:"status"`
	StartTime       string    `json:"startTime"`
	EndTime         string    `json:"endTime"`
	PercentComplete float64   `json:"percentComplete"`
	Error           *armError `json:"error,omitempty"`
}

func (s *Server) operationResultLocked(w http.ResponseWriter, id string) {
	op := s.st.operation(id)
	if op == nil || op.Vanished {
		notFound(w, "operation", id)
		return
	}
	out := operationJSON{
		ID: s.operationPath(op.ID, true), Name: op.ID, Status: op.Status,
		StartTime: armTime(op.StartTime), EndTime: armTime(op.EndTime), PercentComplete: op.PercentComplete,
	}
	if op.Error != nil && op.Status == OpFailed && s.st.Replies.OperationErrors {
		out.Error = &armError{Code: op.Error.Code, Message: op.Error.Message}
	}
	switch {
	case op.Status == OpRotatingSecrets:
		if p := s.st.product(op.Product); p != nil {
			w.Header().Set("Retry-After", retryAfterSeconds(p.RetryAfter))
		}
	case op.Status == OpUpdating:
		w.Header().Set("Retry-After", retryAfterSeconds(SecretOperationDuration/2))
	}
	writeJSON(w, http.StatusOK, out)
}
