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
	// when the client went away during injected latency. A request served
	// under FaultDropReply has the status its lost response had.
	Status int
	// Fault names the injected fault applied to the request, if any.
	Fault string
}

// record appends call to the log and passes it to Options.OnCall.
func (s *Server) record(call Call) {
	s.callsMu.Lock()
	s.calls = append(s.calls, call)
	s.callsMu.Unlock()
	if s.opts.OnCall != nil {
		s.opts.OnCall(call)
	}
}

// Calls returns a copy of the request log, oldest first.
func (s *Server) Calls() []Call {
	s.callsMu.Lock()
	defer s.callsMu.Unlock()
	return slices.Clone(s.calls)
}
