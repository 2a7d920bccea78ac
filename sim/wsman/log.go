package wsman

// Record is one HTTP round trip in the request log. It never holds
// credentials: the Authorization header is not recorded (only its scheme and
// handshake leg in Auth), and bodies are recorded after unsealing.
type Record struct {
	// Seq numbers round trips from 1; Conn numbers TCP connections from 1.
	Seq, Conn int
	// TLS reports an HTTPS connection.
	TLS    bool
	Method string
	// Auth is how the request authenticated: "basic", "negotiate/1" and
	// "negotiate/3" (NTLM handshake legs), "connection" (an NTLM-authenticated
	// connection), or "" (none offered).
	Auth string
	// User is the authenticated account, when there is one.
	User string
	// Sealed and ReplySealed report NTLM message encryption of the request
	// and of the reply.
	Sealed, ReplySealed bool
	// Status is the HTTP status sent (0 when the connection was dropped).
	Status int
	// Action, ResourceURI, MessageID, ShellID and CommandID come from the
	// request.
	Action, ResourceURI, MessageID, ShellID, CommandID string
	// Command and Arguments are a Command's decoded command line.
	Command   string
	Arguments []string
	// Input holds a Send's decoded streams.
	Input []Stream
	// Body is the SOAP request (after unsealing); Reply the SOAP reply
	// (before sealing).
	Body, Reply string
	// Fault is the reply's fault subcode (e.g. "w:TimedOut"), if any.
	Fault string
	// Injected names the injected fault applied, if any.
	Injected string
	// Error says why a request was refused before it was decoded.
	Error string
}

func (r *Record) fill(req *request) {
	r.Action, r.ResourceURI, r.MessageID, r.ShellID = req.Action, req.ResourceURI, req.MessageID, req.ShellID
}

func (s *Server) addRecord(r Record) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = append(s.log, r)
}

// Requests returns a copy of the request log, in the order requests
// finished.
func (s *Server) Requests() []Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Record(nil), s.log...)
}

// RoundTrips returns the number of HTTP requests received.
func (s *Server) RoundTrips() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.trips
}

// Connections returns the number of TCP connections accepted.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns
}

// ResetLog empties the request log and zeroes the round-trip and connection
// counters, so a test can measure one operation. Round-trip numbering
// restarts; connection numbering goes on.
func (s *Server) ResetLog() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log, s.trips, s.conns = nil, 0, 0
}
