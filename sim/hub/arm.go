package hub

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// guidFor derives a stable GUID from parts (a name-based UUID in the style
// of version 5, over SHA-256), so that every identifier the stamp hands out
// is the same on every run.
func guidFor(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	h[6] = h[6]&0x0f | 0x50 // version 5
	h[8] = h[8]&0x3f | 0x80 // RFC 4122 variant
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// armTime formats t as ARM does: UTC with seven fractional digits, and the
// zero time as "0001-01-01T00:00:00Z" (an operation's endTime while running).
func armTime(t time.Time) string {
	if t.IsZero() {
		return "0001-01-01T00:00:00Z"
	}
	return t.UTC().Format("2006-01-02T15:04:05.0000000Z")
}

// armErrorBody is ARM's error envelope (ExtendedErrorInfo).
type armErrorBody struct {
	Error armError `json:"error"`
}

type armError struct {
	Code    string     `json:"code"`
	Message string     `json:"message"`
	Target  string     `json:"target,omitempty"`
	Details []armError `json:"details,omitempty"`
}

// writeJSON writes v with the given status as compact JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		// Only our own response types are marshalled; failing is a bug.
		panic(fmt.Sprintf("sim/hub: marshal response: %v", err))
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// writeARMError writes an ARM error response.
func writeARMError(w http.ResponseWriter, status int, code, format string, args ...any) {
	writeJSON(w, status, armErrorBody{Error: armError{Code: code, Message: fmt.Sprintf(format, args...)}})
}

// API versions the stamp accepts, per route family.
var (
	deploymentAPIVersions = []string{"2019-01-01"}
	// The PowerShell module (Get-AzsProductPackage and others) lets the
	// caller choose 2018-07-01 for packages and file containers.
	packageAPIVersions      = []string{"2019-01-01", "2018-07-01"}
	metadataAPIVersions     = []string{"2015-01-01", "1.0"}
	subscriptionAPIVersions = []string{"2014-04-01", "2015-01-01", "2016-05-01", "2016-06-01", "2018-02-01", "2019-06-01", "2020-01-01"}
)

// checkAPIVersion writes ARM's 400 and returns false unless the request's
// api-version is one of allowed. resourceType names the type in the message.
func checkAPIVersion(w http.ResponseWriter, r *http.Request, resourceType string, allowed []string) bool {
	v := r.URL.Query().Get("api-version")
	if v == "" {
		writeARMError(w, http.StatusBadRequest, "MissingApiVersionParameter",
			"The api-version query parameter (?api-version=) is required for all requests.")
		return false
	}
	for _, a := range allowed {
		if strings.EqualFold(v, a) {
			return true
		}
	}
	writeARMError(w, http.StatusBadRequest, "NoRegisteredProviderFound",
		"No registered resource provider found for location 'global' and API version '%s' for type '%s'. "+
			"The supported api-versions are '%s'.", v, resourceType, strings.Join(allowed, ", "))
	return false
}

// baseURL is https://<Host> of the request: every absolute URL the stamp
// returns (links, endpoints, issuers) follows the name the client used.
func baseURL(r *http.Request) string { return "https://" + r.Host }

// page returns the slice of items for the request's $skiptoken and the
// nextLink for the rest ("" when this is the last page). size <= 0 means one
// page.
func page[T any](r *http.Request, items []T, size int) ([]T, string) {
	if size <= 0 {
		return items, ""
	}
	start := 0
	if tok := r.URL.Query().Get("$skiptoken"); tok != "" {
		if _, err := fmt.Sscanf(tok, "%d", &start); err != nil || start < 0 || start > len(items) {
			start = len(items)
		}
	}
	end := min(start+size, len(items))
	next := ""
	if end < len(items) {
		q := r.URL.Query()
		q.Set("$skiptoken", fmt.Sprint(end))
		next = baseURL(r) + r.URL.Path + "?" + q.Encode()
	}
	return items[start:end], next
}

// list is the {"value": [...], "nextLink": ...} envelope of ARM lists.
type list[T any] struct {
	Value    []T    `json:"value"`
	NextLink string `json:"nextLink,omitempty"`
}

// writeList writes items as one page of an ARM list.
func writeList[T any](w http.ResponseWriter, r *http.Request, items []T, size int) {
	if items == nil {
		items = []T{}
	}
	pg, next := page(r, items, size)
	writeJSON(w, http.StatusOK, list[T]{Value: pg, NextLink: next})
}
