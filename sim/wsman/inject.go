package wsman

import (
	"strings"
	"time"
)

// InjectKind is a kind of injected fault.
type InjectKind int

// Injected fault kinds.
const (
	// InjectStatus answers with HTTP status Injection.Status and no body; a
	// 401 also forgets the connection's authentication, as an expired
	// Windows security context does.
	InjectStatus InjectKind = iota + 1
	// InjectFault answers with Injection.Fault (HTTP 500) without calling
	// the handler.
	InjectFault
	// InjectDelay waits Injection.Delay on the server's clock, then serves
	// the request normally: a slow reply.
	InjectDelay
	// InjectDrop closes the connection without reading on: the request is
	// lost before any handler sees it.
	InjectDrop
	// InjectDropReply serves the request, then closes the connection
	// instead of replying: the client cannot know whether it happened.
	InjectDropReply
	// InjectUnsealedReply serves the request but answers a sealed request in
	// clear text: a server (or a man in the middle) that stops sealing.
	InjectUnsealedReply
)

var injectNames = map[InjectKind]string{
	InjectStatus: "status", InjectFault: "fault", InjectDelay: "delay",
	InjectDrop: "drop", InjectDropReply: "drop-reply", InjectUnsealedReply: "unsealed-reply",
}

// String names the kind for the request log.
func (k InjectKind) String() string { return injectNames[k] }

// Injection is a fault to inject into the next requests that match.
type Injection struct {
	// Action selects requests by a:Action: the full URI or its last
	// segment ("Receive", "Create"), case-insensitive; empty matches any
	// SOAP request.
	Action string
	Kind   InjectKind
	// Status is the HTTP status for InjectStatus.
	Status int
	// Fault is the SOAP fault for InjectFault.
	Fault *Fault
	// Delay is the wait for InjectDelay.
	Delay time.Duration
	// Times is how many matching requests it applies to; 0 means once,
	// a negative value means every one until ClearInjections.
	Times int
}

// Inject queues a fault. Injections are matched in the order they were
// queued; the first that matches a request applies.
func (s *Server) Inject(in Injection) {
	if in.Times == 0 {
		in.Times = 1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inject = append(s.inject, &in)
}

// ClearInjections drops every queued injection.
func (s *Server) ClearInjections() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inject = nil
}

func (s *Server) takeInjection(action string) *Injection {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, in := range s.inject {
		if !actionMatches(in.Action, action) {
			continue
		}
		if in.Times > 0 {
			in.Times--
			if in.Times == 0 {
				s.inject = append(s.inject[:i:i], s.inject[i+1:]...)
			}
		}
		return in
	}
	return nil
}

func actionMatches(pattern, action string) bool {
	if pattern == "" || strings.EqualFold(pattern, action) {
		return true
	}
	return strings.EqualFold(pattern, action[strings.LastIndex(action, "/")+1:])
}
