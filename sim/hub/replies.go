package hub

import (
	"net/http"
	"strings"
	"time"
)

// Replies selects, among the reply shapes Microsoft's specification of the
// admin API allows (Microsoft.Deployment.Admin 2019-01-01) and those a real
// stamp may send beside it, the ones the stamp uses. The zero value answers
// as the specification's schemas say: lists as {value, nextLink}, a
// deployment's properties.error as ExtendedErrorInfo, operation results
// without an error field, validate and import synchronously, and
// rotateSecrets with the headers of ARM's asynchronous pattern.
//
// Replies belong to the stamp: they come from the Scenario and are kept in
// the state, so a persistent stamp answers the same way after a restart.
type Replies struct {
	// Rotate is the shape of rotateSecrets answers. Options.RotateResponse
	// overrides it when set to another shape than RotateAsync.
	Rotate RotateResponse `json:"rotate,omitempty"`
	// AsyncSecrets makes validate and import long-running, as the
	// specification marks them: 202 with Azure-AsyncOperation, Location and
	// Retry-After naming an operation result, which ends after
	// SecretOperationDuration as Succeeded or, for a certificate the stamp
	// rejects, Failed (an import is recorded only when it succeeds).
	AsyncSecrets bool `json:"asyncSecrets,omitempty"`
	// OperationErrors adds an error {code, message} to failed operation
	// results and writes a deployment's properties.error bare, as a stamp
	// that differs from the specification may: the specification's
	// OperationResult has no error field.
	OperationErrors bool `json:"operationErrors,omitempty"`
	// BareLists answers the Deployment.Admin lists as bare JSON arrays, as
	// the specification's ProductDeployment/List.json example does (and
	// against its own schema). A bare array cannot carry a nextLink, so
	// Options.PageSize does not apply to them.
	BareLists bool `json:"bareLists,omitempty"`
	// OperationLocation is the location in the operation result URLs the
	// stamp hands out; default "global". The specification's path is
	// locations/{location} and its example uses "redmond"; results are
	// served under any location.
	OperationLocation string `json:"operationLocation,omitempty"`
	// OperationResultsCasing spells the operation URLs' path segment
	// "operationResults", as the example's id does, rather than
	// "operationresults", as the specification's path does.
	OperationResultsCasing bool `json:"operationResultsCasing,omitempty"`
}

// SecretOperationDuration is how long an asynchronous validate or import
// takes on the stamp clock (Replies.AsyncSecrets).
const SecretOperationDuration = 10 * time.Second

// rotateResponse is the effective shape of rotateSecrets answers.
func (s *Server) rotateResponse() RotateResponse {
	if s.opts.RotateResponse != RotateAsync {
		return s.opts.RotateResponse
	}
	return s.st.Replies.Rotate
}

// operationURL is the absolute URL of an operation result, as the stamp
// hands it out in Azure-AsyncOperation and Location.
func (s *Server) operationURL(r *http.Request, id string) string {
	return baseURL(r) + s.operationPath(id, false) + "?api-version=" + deploymentAPIVersions[0]
}

// operationPath is the path of an operation result; asID spells it as the
// body's id does (operationResults).
func (s *Server) operationPath(id string, asID bool) string {
	loc, seg := s.st.Replies.OperationLocation, "operationresults"
	if loc == "" {
		loc = "global"
	}
	if asID || s.st.Replies.OperationResultsCasing {
		seg = "operationResults"
	}
	return "/subscriptions/" + s.SubscriptionID() + "/providers/Microsoft.Deployment.Admin/locations/" + loc + "/" + seg + "/" + id
}

// writeAdminList writes a Deployment.Admin list: {value, nextLink}, or a
// bare array with Replies.BareLists.
func writeAdminList[T any](s *Server, w http.ResponseWriter, r *http.Request, items []T) {
	if s.st.Replies.BareLists {
		if items == nil {
			items = []T{}
		}
		writeJSON(w, http.StatusOK, items)
		return
	}
	writeList(w, r, items, s.opts.PageSize)
}

// deploymentError is a deployment's properties.error: ExtendedErrorInfo
// ({"error": {…}}), or bare with Replies.OperationErrors.
func (s *Server) deploymentError(e *ErrorInfo) any {
	if e == nil {
		return nil
	}
	inner := armError{Code: e.Code, Message: e.Message}
	if s.st.Replies.OperationErrors {
		return inner
	}
	return armErrorBody{Error: inner}
}

// validLocation reports whether the stamp serves path segments below
// locations/{loc}: global for everything, any location for operation
// results (rest are the lower-cased segments after the location).
func validLocation(loc string, rest []string) bool {
	return strings.EqualFold(loc, "global") || (len(rest) == 2 && rest[0] == "operationresults")
}
