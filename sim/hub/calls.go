package hub

import (
	"slices"
	"time"
)

// Call is one entry of the request log. It never holds a body, a header or
// a secret.
type Call struct {
	// Seq numbers requests from 1 in arrival order.
	Seq int
	// Time is the stamp clock's time when the request arrived.
	Time time.Time
	// Method and Path are the request's; Query is its raw query string.
	Method, Path, Query string
	// Status is the response status; 0 when the connection was reset, 499
	// when the client went away during injected latency.
	Status int
	// Fault names the injected fault applied to the request, if any.
	Fault string
}

// record appends call, with the status of rec, to the log.
func (s *Server) record(call Call, rec *statusRecorder) {
	call.Status = rec.status
	s.mu.Lock()
	s.calls = append(s.calls, call)
	hook := s.opts.OnCall
	s.mu.Unlock()
	if hook != nil {
		hook(call)
	}
}

// Calls returns a copy of the request log, oldest first.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}
