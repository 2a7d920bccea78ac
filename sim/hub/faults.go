package hub

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"
)

// FaultKind is a kind of injected fault.
type FaultKind int

// The fault kinds. Request faults (Latency to ExpireTokens) act on the
// requests they match; state faults (VanishOperation, FailRotation) act on a
// product's rotation.
const (
	// FaultLatency delays matching requests by Delay on the stamp clock
	// (with a clock.Fake the test must advance it), then serves them.
	FaultLatency FaultKind = iota + 1
	// FaultThrottle answers 429 TooManyRequests with Retry-After.
	FaultThrottle
	// FaultServerError answers 500 InternalServerError.
	FaultServerError
	// FaultConnectionReset drops the connection without a response
	// (HTTP/1.1: hijack and close with a TCP reset; HTTP/2: stream reset).
	// Go's HTTP client may transparently retry an idempotent request on a
	// reused connection, so a GET may never surface the reset.
	FaultConnectionReset
	// FaultExpireTokens invalidates every access token issued so far, then
	// serves the request, which therefore fails with 401
	// ExpiredAuthenticationToken if it carries one. New tokens work.
	FaultExpireTokens
	// FaultVanishOperation makes the product's running rotation, or else
	// its next one, answer 404 on its operation URL while the rotation
	// itself goes on (visible through productDeployments).
	FaultVanishOperation
	// FaultFailRotation makes the product's running rotation, if still
	// below AtPercent, or else its next one, fail at AtPercent.
	FaultFailRotation
	// FaultDropReply serves the request, then drops the connection instead
	// of replying, as FaultConnectionReset does: the stamp acted (a
	// rotateSecrets starts a rotation) and the client cannot know it.
	FaultDropReply
)

var faultNames = map[FaultKind]string{
	FaultLatency: "latency", FaultThrottle: "throttle", FaultServerError: "server-error",
	FaultConnectionReset: "connection-reset", FaultExpireTokens: "expire-tokens",
	FaultVanishOperation: "vanish-operation", FaultFailRotation: "fail-rotation",
	FaultDropReply: "drop-reply",
}

// String returns the kind's name as it appears in Call.Fault.
func (k FaultKind) String() string {
	if n, ok := faultNames[k]; ok {
		return n
	}
	return fmt.Sprintf("FaultKind(%d)", int(k))
}

// Fault describes one injected fault.
type Fault struct {
	Kind FaultKind
	// Method and Path select the requests a request fault matches: Method
	// exactly (empty = any), Path as a case-insensitive substring of the
	// URL path (empty = any), e.g. "/operationresults/", "rotateSecrets",
	// "/oauth2/".
	Method, Path string
	// Skip lets this many matching requests through before the fault
	// starts: "token expiry mid-run" is FaultExpireTokens with Skip.
	Skip int
	// Times is how many matching requests the fault affects: 0 means
	// once, a negative number means every one.
	Times int
	// Delay is FaultLatency's delay.
	Delay time.Duration
	// RetryAfter is FaultThrottle's Retry-After (default 10 s) and, when
	// set, FaultServerError's.
	RetryAfter time.Duration
	// Product is the product id of a state fault; empty means any product.
	Product string
	// AtPercent is FaultFailRotation's failure point, in (0, 100).
	AtPercent float64
}

func (f Fault) validate() error {
	switch f.Kind {
	case FaultLatency:
		if f.Delay <= 0 {
			return fmt.Errorf("sim/hub: latency fault needs a positive Delay")
		}
	case FaultThrottle, FaultServerError, FaultConnectionReset, FaultExpireTokens, FaultVanishOperation, FaultDropReply:
	case FaultFailRotation:
		if f.AtPercent <= 0 || f.AtPercent >= 100 {
			return fmt.Errorf("sim/hub: fail-rotation fault: AtPercent %v outside (0, 100)", f.AtPercent)
		}
	default:
		return fmt.Errorf("sim/hub: unknown fault kind %d", int(f.Kind))
	}
	return nil
}

func (f Fault) isStateFault() bool {
	return f.Kind == FaultVanishOperation || f.Kind == FaultFailRotation
}

// activeFault is a request fault with its remaining counts.
type activeFault struct {
	Fault
	skip, left int // left < 0: unlimited
}

// Inject adds a fault at run time. A state fault applies to the product's
// running rotation at once if it can, else to its next rotation. It panics
// on an invalid fault (a mistake of the calling program).
func (s *Server) Inject(f Fault) {
	if err := f.validate(); err != nil {
		panic(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settleLocked()
	s.injectLocked(f)
}

func (s *Server) injectLocked(f Fault) {
	if f.isStateFault() {
		if s.applyStateFaultLocked(f) {
			s.saveErr = s.saveLocked()
			return
		}
		s.queued = append(s.queued, f)
		return
	}
	left := f.Times
	if left == 0 {
		left = 1
	}
	s.faults = append(s.faults, &activeFault{Fault: f, skip: f.Skip, left: left})
}

// applyStateFaultLocked applies f to a running rotation it fits and reports
// whether it did.
func (s *Server) applyStateFaultLocked(f Fault) bool {
	for i := range s.st.Operations {
		op := &s.st.Operations[i]
		if op.Status != OpRotatingSecrets || (f.Product != "" && !strings.EqualFold(op.Product, f.Product)) {
			continue
		}
		switch f.Kind {
		case FaultVanishOperation:
			op.Vanished = true
			return true
		case FaultFailRotation:
			if op.PercentComplete < f.AtPercent {
				op.FailAt = f.AtPercent
				return true
			}
		}
	}
	return false
}

// takeQueuedLocked removes and returns the queued state faults for a
// rotation of product that is starting: whether it vanishes and where it
// fails (0 = no failure).
func (s *Server) takeQueuedLocked(product string) (vanish bool, failAt float64) {
	kept := s.queued[:0]
	for _, f := range s.queued {
		if f.Product != "" && !strings.EqualFold(f.Product, product) {
			kept = append(kept, f)
			continue
		}
		switch {
		case f.Kind == FaultVanishOperation && !vanish:
			vanish = true
		case f.Kind == FaultFailRotation && failAt == 0:
			failAt = f.AtPercent
		default:
			kept = append(kept, f)
		}
	}
	s.queued = kept
	return vanish, failAt
}

// ClearFaults removes every injected fault, pending or queued.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults, s.queued = nil, nil
}

// ExpireTokens invalidates every access token issued so far, as
// FaultExpireTokens does.
func (s *Server) ExpireTokens() { s.idp.revokeAll() }

// matchFault consumes and returns the first request fault that applies to
// r, or nil.
func (s *Server) matchFault(r *http.Request) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, af := range s.faults {
		if af.Method != "" && !strings.EqualFold(af.Method, r.Method) {
			continue
		}
		if af.Path != "" && !strings.Contains(strings.ToLower(r.URL.Path), strings.ToLower(af.Path)) {
			continue
		}
		if af.skip > 0 {
			af.skip--
			continue
		}
		f := af.Fault
		if af.left > 0 {
			af.left--
			if af.left == 0 {
				s.faults = append(s.faults[:i], s.faults[i+1:]...)
			}
		}
		return &f
	}
	return nil
}

// applyFault applies request fault f (not a reset) to r and reports whether
// that ended the request (answered, or abandoned by the client). Faults
// that answer write to rec.
func (s *Server) applyFault(rec *statusRecorder, r *http.Request, f *Fault) bool {
	switch f.Kind {
	case FaultLatency:
		if err := s.clock.Sleep(r.Context(), f.Delay); err != nil {
			// The client gave up; there is no one to answer.
			rec.status = 499
		}
	case FaultThrottle:
		ra := f.RetryAfter
		if ra <= 0 {
			ra = 10 * time.Second
		}
		rec.Header().Set("Retry-After", fmt.Sprint(int(ra.Round(time.Second)/time.Second)))
		writeARMError(rec, http.StatusTooManyRequests, "TooManyRequests",
			"The request is being throttled as the limit has been reached for operation type '%s'. Retry after %d seconds.",
			r.Method, int(ra/time.Second))
	case FaultServerError:
		if f.RetryAfter > 0 {
			rec.Header().Set("Retry-After", fmt.Sprint(int(f.RetryAfter/time.Second)))
		}
		writeARMError(rec, http.StatusInternalServerError, "InternalServerError",
			"Encountered internal server error. Diagnostic information: request id '%s'.", rec.Header().Get("x-ms-request-id"))
	case FaultExpireTokens:
		s.idp.revokeAll()
	}
	return rec.status != 0
}

// discardWriter is where a FaultDropReply request's response goes: only
// its status is kept, for the request log.
type discardWriter struct {
	header http.Header
	status int
}

// Header returns the discarded response's header.
func (d *discardWriter) Header() http.Header { return d.header }

// WriteHeader keeps the first status.
func (d *discardWriter) WriteHeader(code int) {
	if d.status == 0 {
		d.status = code
	}
}

// Write discards b.
func (d *discardWriter) Write(b []byte) (int, error) {
	d.WriteHeader(http.StatusOK)
	return len(b), nil
}

// resetConnection drops the client's connection without an HTTP response.
func resetConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// HTTP/2 cannot hijack; aborting the handler resets the stream.
		panic(http.ErrAbortHandler)
	}
	if nc, ok := conn.(interface{ NetConn() net.Conn }); ok {
		if tc, ok := nc.NetConn().(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // close with RST rather than FIN
		}
	}
	_ = conn.Close()
}
