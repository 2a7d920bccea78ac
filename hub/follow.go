package hub

import (
	"context"
	"net/http"
	"strings"
)

// settlePolls is how many polls in a row a product deployment must show a
// settled status, after a 202 without an operation URL, before the client
// believes that the rotation is over without having seen it running: the
// stamp may answer before the deployment's status moves to
// SecretRotationInProgress, and the status it still shows then is the one
// the last operation left.
const settlePolls = 3

// deploymentWatch is what following a deployment remembers between polls.
type deploymentWatch struct {
	// settled: the status counts from the first read (a 200).
	settled bool
	// running: the deployment was seen in an in-progress state.
	running bool
	// quiet counts polls in a row with a settled status before running.
	quiet int
}

// DeploymentBusy reports whether a product deployment's status is one of
// the in-progress states of the specification's DeploymentStatus enum
// (SecretRotationInProgress, Bootstrapping, Deploying, Updating, Removing),
// or any other status that says it is in progress.
func DeploymentBusy(status string) bool {
	s := strings.ToLower(status)
	switch s {
	case "bootstrapping", "deploying", "updating", "removing", "rotatingsecrets":
		return true
	}
	return strings.HasSuffix(s, "inprogress") || strings.HasSuffix(s, "running")
}

// getDeploymentOperation reads the product deployment an operation follows
// and turns it into an operation status: the deployment's status while it
// is in progress (or not yet trusted to be over), then Succeeded, or Failed
// with the deployment's properties.error when the status ends in "Failed".
func (c *Client) getDeploymentOperation(ctx context.Context, op Operation, w *deploymentWatch) (*OperationStatus, *http.Response, error) {
	name := "poll " + opName(op)
	if _, err := c.onStamp(op.URL); err != nil {
		return nil, nil, &Error{Stamp: c.stamp, Op: name, Message: err.Error()}
	}
	resp, err := c.send(ctx, request{op: name, method: http.MethodGet, url: op.URL})
	if err != nil {
		return nil, nil, err
	}
	var dep ProductDeployment
	if err := decodeJSON(resp, &dep); err != nil {
		return nil, nil, &Error{Stamp: c.stamp, Op: name, StatusCode: resp.StatusCode, Message: "unreadable product deployment", Err: err}
	}
	status := dep.Properties.Status
	st := &OperationStatus{ID: dep.ID, Name: dep.Name, Status: status}
	switch {
	case DeploymentBusy(status):
		w.running, w.quiet = true, 0
		return st, resp, nil
	case !w.running && !w.settled:
		w.quiet++
		if w.quiet < settlePolls {
			if st.Status == "" {
				st.Status = "InProgress"
			}
			return st, resp, nil
		}
	}
	if strings.HasSuffix(strings.ToLower(status), "failed") {
		st.Status, st.Error = "Failed", dep.Properties.Error
		return st, resp, nil
	}
	st.Status, st.PercentComplete = "Succeeded", 100
	return st, resp, nil
}
