package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// Operation is a handle on a long-running operation the stamp started. It is
// plain data without secrets: the executor journals its URL before waiting
// and, after a crash, a fresh Client polls it again (see ResumeRotation).
type Operation struct {
	// Op says what was started ("rotate secrets of microsoft.eventhub");
	// errors about the operation name it.
	Op string `json:"op"`
	// URL is what is polled: the Azure-AsyncOperation header, else the
	// Location header of a 202, else (FollowsDeployment) the product
	// deployment itself. Empty when the stamp finished the request
	// synchronously.
	URL string `json:"url,omitempty"`
	// Header names the header URL came from; empty when it came from none.
	Header string `json:"header,omitempty"`
	// Product is the product deployment the operation acts on
	// (rotateSecrets). When the operation fails and its status gives no
	// reason (the specification's OperationResult has no error field), the
	// reason is read from the deployment's properties.error.
	Product string `json:"product,omitempty"`
	// FollowsDeployment is set when the stamp answered rotateSecrets
	// without an operation URL: the specification declares no headers, and
	// its RotateSecrets.json example answers a bare 202. The rotation is
	// then followed by reading the product deployment (URL) until its
	// status leaves the in-progress state.
	FollowsDeployment bool `json:"followsDeployment,omitempty"`
	// Completed is set when that answer was a 200 rather than a 202: the
	// deployment's status counts from the first read. After a 202 (or on
	// resume) a status that never showed the rotation in progress is
	// trusted only once it has held for settlePolls polls, since the
	// stamp may start the rotation a moment after it answered.
	Completed bool `json:"completed,omitempty"`
	// RetryAfter is the first wait the stamp asked for. It is not
	// journalled: a resumed poll looks at once.
	RetryAfter time.Duration `json:"-"`
}

// Done reports whether the operation completed synchronously, leaving
// nothing to poll.
func (o Operation) Done() bool { return o.URL == "" }

// ResumeRotation rebuilds the Operation of a rotation of productID from the
// URL journalled for it (Operation.URL): an operation status URL, or the
// product deployment's own URL when the stamp had given none.
func ResumeRotation(productID, statusURL string) Operation {
	op := Operation{Op: "rotate secrets of " + productID, URL: statusURL, Product: productID}
	if u, err := url.Parse(statusURL); err == nil {
		p := strings.ToLower(strings.TrimRight(u.Path, "/"))
		op.FollowsDeployment = strings.HasSuffix(p, "/productdeployments/"+strings.ToLower(productID))
	}
	return op
}

// OperationStatus is the body of an operation status URL (the
// operationResults resource in the specification).
type OperationStatus struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Status is RotatingSecrets (or another verb) while running, then
	// Succeeded, Failed or Canceled.
	Status string `json:"status"`
	// PercentComplete is 0–100; 0 when the stamp does not say.
	PercentComplete float64    `json:"percentComplete"`
	StartTime       string     `json:"startTime,omitempty"`
	EndTime         string     `json:"endTime,omitempty"`
	Error           *ErrorInfo `json:"error,omitempty"`
}

// Terminal reports whether Status is Succeeded, Failed or Canceled (in any
// letter case).
func (s *OperationStatus) Terminal() bool {
	switch strings.ToLower(s.Status) {
	case "succeeded", "failed", "canceled", "cancelled":
		return true
	}
	return false
}

// Progress is reported after every poll.
type Progress struct {
	// Status and PercentComplete are what the stamp said; unchanged from
	// the last poll when Err is set.
	Status          string
	PercentComplete float64
	// Polls counts the polls so far, failed ones included.
	Polls int
	// Next is the wait before the next poll; 0 after the last one.
	Next time.Duration
	// Err is set when this poll failed transiently (network, 5xx, 429);
	// the loop goes on until PollErrorLimit polls in a row have failed.
	Err error
}

const (
	defaultPollInterval = 30 * time.Second
	// A Retry-After on a status URL is honoured within these bounds: a
	// stamp saying 0 must not make the loop spin, nor a huge one make it
	// look away for hours.
	minPollWait = time.Second
	maxPollWait = 15 * time.Minute
)

// RotateSecrets starts the rotation of a product's secrets
// (Invoke-AzsProductRotateSecretsAction): POST …/rotateSecrets, no body.
// Poll the returned Operation with PollOperation: it follows the
// Azure-AsyncOperation or Location URL the stamp gave, or, when the stamp
// answered 200 or 202 without either (as the specification allows), the
// product deployment's status. The Operation is never Done. A rotation already running is
// IsConflict. The request is not repeated after a network failure that may
// have let it through; that error wraps ErrOutcomeUnknown and the caller
// should read GetProductDeployment before trying again.
func (c *Client) RotateSecrets(ctx context.Context, productID string) (Operation, error) {
	op := "rotate secrets of " + productID
	u, err := c.adminURL(ctx, "productDeployments", productID, "rotateSecrets")
	if err != nil {
		return Operation{}, err
	}
	resp, err := c.send(ctx, request{op: op, method: http.MethodPost, url: u, unsafe: true})
	if err != nil {
		var e *Error
		if errors.As(err, &e) && e.StatusCode == 0 && retriableError(e.Err) && !isDialError(e.Err) {
			e.Message = "the request may have reached the stamp; read the product deployment's status before rotating again"
			e.Err = fmt.Errorf("%w: %w", ErrOutcomeUnknown, e.Err)
		}
		return Operation{}, err
	}
	o, err := c.operationFrom(op, resp)
	if err != nil {
		return Operation{}, err
	}
	o.Product = productID
	if o.Done() {
		// No status URL: the rotation is followed through the deployment.
		if o.URL, err = c.adminURL(ctx, "productDeployments", productID); err != nil {
			return Operation{}, err
		}
		o.FollowsDeployment = true
		o.Completed = resp.StatusCode != http.StatusAccepted
		o.RetryAfter, _ = retryAfter(resp, c.clock)
	}
	return o, nil
}

// operationFrom reads the operation handle from a 2xx response. An
// Azure-AsyncOperation header wins; Location counts only on a 202 (ARM's
// rules); neither means the request completed synchronously.
func (c *Client) operationFrom(op string, resp *http.Response) (Operation, error) {
	h, name := resp.Header.Get("Azure-AsyncOperation"), "Azure-AsyncOperation"
	if h == "" && resp.StatusCode == http.StatusAccepted {
		h, name = resp.Header.Get("Location"), "Location"
	}
	if h == "" {
		return Operation{Op: op}, nil
	}
	ref, err := c.endpoint.Parse(h)
	if err == nil {
		_, err = c.onStamp(ref.String())
	}
	if err != nil {
		return Operation{}, &Error{Stamp: c.stamp, Op: op, StatusCode: resp.StatusCode,
			Message: "the stamp accepted the request but its " + name + " URL cannot be polled: " + err.Error(),
			Err:     ErrOutcomeUnknown}
	}
	wait, _ := retryAfter(resp, c.clock)
	return Operation{Op: op, URL: ref.String(), Header: name, RetryAfter: wait}, nil
}

// GetOperation reads an operation's status once. It accepts 200 and 202 (and
// 201/204); a 202 without a status means still running, a 200/201/204
// without one means done (Location semantics).
func (c *Client) GetOperation(ctx context.Context, url string) (*OperationStatus, error) {
	st, _, err := c.getOperation(ctx, Operation{URL: url})
	return st, err
}

func (c *Client) getOperation(ctx context.Context, op Operation) (*OperationStatus, *http.Response, error) {
	name := "poll " + opName(op)
	if _, err := c.onStamp(op.URL); err != nil {
		return nil, nil, &Error{Stamp: c.stamp, Op: name, Message: err.Error()}
	}
	resp, err := c.send(ctx, request{op: name, method: http.MethodGet, url: op.URL})
	if err != nil {
		return nil, nil, err
	}
	body, _ := payload(resp)
	var wire struct {
		OperationStatus
		PercentComplete json.RawMessage `json:"percentComplete"`
		Properties      struct {
			ProvisioningState string `json:"provisioningState"`
		} `json:"properties"`
	}
	if len(strings.TrimSpace(string(body))) > 0 {
		if err := json.Unmarshal(body, &wire); err != nil && resp.StatusCode != http.StatusAccepted {
			return nil, nil, &Error{Stamp: c.stamp, Op: name, StatusCode: resp.StatusCode, Message: "unreadable operation status", Err: err}
		}
	}
	st := wire.OperationStatus
	st.PercentComplete = parsePercent(wire.PercentComplete)
	if st.Status == "" {
		switch {
		case resp.StatusCode == http.StatusAccepted:
			st.Status = "InProgress"
		case wire.Properties.ProvisioningState != "":
			st.Status = wire.Properties.ProvisioningState
		default:
			st.Status = "Succeeded"
		}
	}
	return &st, resp, nil
}

// parsePercent accepts a number or a numeric string.
func parsePercent(raw json.RawMessage) float64 {
	s := strings.Trim(strings.TrimSpace(string(raw)), `"`)
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0
	}
	return f
}

func opName(op Operation) string {
	if op.Op != "" {
		return op.Op
	}
	return "operation " + op.URL[strings.LastIndex(strings.SplitN(op.URL, "?", 2)[0], "/")+1:]
}

// PollOperation watches op until it ends, on the client's clock: it GETs the
// status URL (at once, or after op.RetryAfter for a new operation), reports
// every poll to progress (which may be nil), and waits Retry-After (or
// Config.PollInterval) between polls. It returns the final status and:
//   - nil on Succeeded;
//   - an *Error wrapping ErrOperationFailed (ErrOperationCanceled) with the
//     operation's error code and message on Failed (Canceled);
//   - an *Error wrapping ErrOutcomeUnknown, IsNotFound, when the status URL
//     has vanished;
//   - the last error once PollErrorLimit polls in a row have failed
//     transiently, or at once for any other error;
//   - ctx's error when ctx ends; the operation goes on at the stamp.
//
// A poll resumed from a journalled Operation works on a fresh Client.
func (c *Client) PollOperation(ctx context.Context, op Operation, progress func(Progress)) (*OperationStatus, error) {
	report := func(p Progress) {
		if progress != nil {
			progress(p)
		}
	}
	if op.Done() {
		st := &OperationStatus{Status: "Succeeded", PercentComplete: 100}
		report(Progress{Status: st.Status, PercentComplete: 100})
		return st, nil
	}
	wait, failures, polls := op.RetryAfter, 0, 0
	last := Progress{}
	follow := &deploymentWatch{settled: op.Completed}
	for {
		if err := c.clock.Sleep(ctx, wait); err != nil {
			return nil, &Error{Stamp: c.stamp, Op: "poll " + opName(op), Err: err}
		}
		var (
			st   *OperationStatus
			resp *http.Response
			err  error
		)
		if op.FollowsDeployment {
			st, resp, err = c.getDeploymentOperation(ctx, op, follow)
		} else {
			st, resp, err = c.getOperation(ctx, op)
		}
		polls++
		if err != nil {
			if ctx.Err() != nil {
				return nil, err
			}
			if IsNotFound(err) {
				return nil, c.vanished(op, err)
			}
			failures++
			if !transient(err) || failures >= c.pollErrors {
				return nil, err
			}
			wait = c.pollInterval
			last.Polls, last.Next, last.Err = polls, wait, err
			report(last)
			continue
		}
		failures = 0
		wait = c.pollInterval
		if d, ok := retryAfter(resp, c.clock); ok {
			wait = min(max(d, minPollWait), maxPollWait)
		}
		last = Progress{Status: st.Status, PercentComplete: st.PercentComplete, Polls: polls, Next: wait}
		if st.Terminal() {
			last.Next = 0
			report(last)
			return st, c.outcome(ctx, op, st)
		}
		report(last)
	}
}

// outcome turns a terminal status into nil or an *Error. A failure without
// a reason in the status takes it from the product deployment's
// properties.error, where the specification puts it.
func (c *Client) outcome(ctx context.Context, op Operation, st *OperationStatus) error {
	var cause error
	switch strings.ToLower(st.Status) {
	case "succeeded":
		return nil
	case "failed":
		cause = ErrOperationFailed
	default:
		cause = ErrOperationCanceled
	}
	e := &Error{Stamp: c.stamp, Op: opName(op), Err: cause}
	if st.Error.empty() && op.Product != "" && !op.FollowsDeployment {
		if dep, err := c.GetProductDeployment(ctx, op.Product); err == nil {
			st.Error = dep.Properties.Error
		}
	}
	if st.Error != nil {
		e.Code, e.Message = c.secrets.apply(st.Error.Code), c.secrets.apply(st.Error.Message)
	}
	if e.Code == "" && e.Message == "" {
		e.Message = "the stamp gave no reason"
	}
	return e
}

// vanished explains a status URL that answers 404.
func (c *Client) vanished(op Operation, err error) error {
	var e *Error
	errors.As(err, &e)
	msg := "the operation no longer exists on the stamp (it may have expired, or the resource provider restarted); " +
		"read the product deployment's status to learn how it ended"
	if e.Code != "" || e.Message != "" {
		msg += " [" + strings.Trim(e.Code+": "+e.Message, ": ") + "]"
	}
	return &Error{Stamp: c.stamp, Op: "poll " + opName(op), StatusCode: e.StatusCode, Code: e.Code, Message: msg, Err: ErrOutcomeUnknown}
}

// transient reports whether a failed poll is worth another one later:
// network failures, 408/429/5xx, and sign-in failures that are not the
// identity provider's 4xx verdict. Certificate errors and other 4xx are not.
func transient(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	if e.StatusCode == 0 && e.Err == nil {
		return false // refused by the client itself (e.g. a foreign URL)
	}
	if e.StatusCode != 0 {
		return retriableStatus(e.StatusCode)
	}
	var auth *azidentity.AuthenticationFailedError
	if errors.As(e.Err, &auth) {
		return auth.RawResponse == nil || auth.RawResponse.StatusCode >= 500
	}
	var nr nonRetriable
	if errors.As(e.Err, &nr) {
		return false
	}
	return retriableError(e.Err)
}
