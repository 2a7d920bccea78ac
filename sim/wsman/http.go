package wsman

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
)

const maxBody = 32 << 20

const soapContentType = "application/soap+xml;charset=UTF-8"

// ServeHTTP serves one HTTP request: authentication, unsealing, decoding,
// fault injection, dispatch, sealing the reply, and the request log.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	cs, _ := r.Context().Value(connKey{}).(*connState)
	if cs == nil { // served through another http.Server: no connection state
		cs = &connState{}
	}
	rec := Record{Conn: cs.id, TLS: cs.tls, Method: r.Method}
	s.mu.Lock()
	s.trips++
	rec.Seq = s.trips
	s.mu.Unlock()
	// The record is added before a reply can reach the client (a deferred
	// write is flushed only after ServeHTTP returns) or, for a dropped
	// connection, before the close; so a client that has its answer finds
	// its request in Requests.
	recorded := false
	record := func() {
		if !recorded {
			recorded = true
			s.addRecord(rec)
		}
	}
	defer record()

	if r.Method != http.MethodPost || !strings.EqualFold(r.URL.Path, "/wsman") {
		rec.Status = http.StatusNotFound
		http.Error(w, "not found", rec.Status)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		rec.Status = http.StatusBadRequest
		w.WriteHeader(rec.Status)
		return
	}

	// Requests on one connection arrive one after another; the lock only
	// guards against a handler reused across servers.
	cs.mu.Lock()
	defer cs.mu.Unlock()

	user, ok := s.authenticate(w, r, cs, &rec)
	if !ok {
		return
	}

	soap := body
	sealed := isSealed(r.Header.Get("Content-Type"))
	switch {
	case sealed:
		if cs.session == nil {
			cs.reset()
			s.unauthorized(w, &rec)
			return
		}
		soap, err = s.unsealBody(cs, body)
		if err != nil {
			cs.reset() // the RC4 streams are out of step now
			rec.Status = http.StatusBadRequest
			rec.Error = err.Error()
			w.WriteHeader(rec.Status)
			return
		}
		rec.Sealed = true
	case len(body) == 0:
		// An empty POST only carries a handshake: 200 to the one that
		// completes it, a challenge to any other (so masterzen's
		// per-message priming, which probes without credentials on an
		// authenticated connection, gets the 401 Windows gives it).
		if r.Header.Get("Authorization") == "" && s.cfg.Auth != 0 {
			cs.reset()
			s.unauthorized(w, &rec)
			return
		}
		rec.Status = http.StatusOK
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(rec.Status)
		return
	case s.cfg.Sealing == SealRequired && !cs.tls && s.cfg.Auth != 0:
		// AllowUnencrypted=false: clear text is refused even from an
		// authenticated connection.
		s.unauthorized(w, &rec)
		return
	default:
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/soap+xml" {
			rec.Status = http.StatusUnsupportedMediaType
			w.WriteHeader(rec.Status)
			return
		}
	}
	rec.Body = string(soap)

	req, derr := decodeRequest(soap)
	var inj *Injection
	if derr == nil {
		rec.fill(req)
		inj = s.takeInjection(req.Action)
	}
	replySealed := sealed
	if inj != nil {
		rec.Injected = inj.Kind.String()
		switch inj.Kind {
		case InjectDrop:
			rec.Status = 0
			record()
			s.drop(w)
			return
		case InjectStatus:
			if inj.Status == http.StatusUnauthorized {
				cs.reset()
				s.challenges(w)
			}
			rec.Status = inj.Status
			w.WriteHeader(rec.Status)
			return
		case InjectDelay:
			if err := s.clk.Sleep(r.Context(), inj.Delay); err != nil {
				return
			}
		case InjectUnsealedReply:
			replySealed = false
		}
	}

	var reply []byte
	var status int
	switch {
	case len(soap) > s.cfg.MaxEnvelopeSize:
		reply, status = s.faultReply(rec.MessageID, &Fault{
			Code: "s:Sender", Subcode: "w:EncodingLimit", WSManCode: 2150858819,
			Reason: fmt.Sprintf("The WS-Management service cannot process the request because the envelope of %d bytes exceeds the maximum of %d (MaxEnvelopeSizekb).", len(soap), s.cfg.MaxEnvelopeSize),
		}, &rec)
	case derr != nil:
		reply, status = s.faultReply("", InvalidMessageFault(derr.Error()), &rec)
	case inj != nil && inj.Kind == InjectFault:
		reply, status = s.faultReply(req.MessageID, inj.Fault, &rec)
	default:
		req.User = user
		h := holdClock(s.clk)
		defer h.release() // held until the reply is written
		reply, status = s.dispatch(context.WithValue(r.Context(), holdKey{}, h), req, &rec)
	}
	rec.Reply = string(reply)
	rec.Status = status
	if inj != nil && inj.Kind == InjectDropReply {
		rec.Status = 0
		record()
		s.drop(w)
		return
	}
	if replySealed {
		reply = s.sealBody(cs, reply)
		rec.ReplySealed = true
		w.Header().Set("Content-Type", sealContentType)
	} else {
		w.Header().Set("Content-Type", soapContentType)
	}
	w.WriteHeader(status)
	_, _ = w.Write(reply)
}

// authenticate runs the HTTP authentication step. It returns the user the
// request runs as and true to go on, or writes the reply and returns false.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request, cs *connState, rec *Record) (string, bool) {
	if s.cfg.Auth == 0 { // anyone, whatever credentials they offer
		return "", true
	}
	h := r.Header.Get("Authorization")
	if h == "" {
		if cs.user != "" {
			rec.Auth, rec.User = "connection", cs.user
			return cs.user, true
		}
		s.unauthorized(w, rec)
		return "", false
	}
	scheme, value := splitAuthorization(h)
	switch {
	case scheme == "basic" && s.cfg.Auth&AuthBasic != 0:
		rec.Auth = "basic"
		cs.reset()
		user, ok := s.acct.checkBasic(value)
		if !ok {
			s.unauthorized(w, rec)
			return "", false
		}
		rec.User = user
		return user, true
	case (scheme == "negotiate" || scheme == "ntlm") && s.cfg.Auth&AuthNegotiate != 0:
		return s.negotiate(w, r, cs, scheme, value, rec)
	}
	rec.Auth = scheme
	s.unauthorized(w, rec)
	return "", false
}

// negotiate runs one leg of the NTLM handshake.
func (s *Server) negotiate(w http.ResponseWriter, r *http.Request, cs *connState, scheme, value string, rec *Record) (string, bool) {
	prefix := "Negotiate"
	if scheme == "ntlm" {
		prefix = "NTLM"
	}
	msg, err := base64.StdEncoding.DecodeString(value)
	typ, terr := ntlmMessageType(msg)
	if err != nil || terr != nil {
		rec.Auth = scheme
		cs.reset()
		s.unauthorized(w, rec)
		return "", false
	}
	switch typ {
	case 1:
		rec.Auth = scheme + "/1"
		cs.reset()
		n := &ntlmServer{}
		ch, err := n.challengeMessage(msg, s.acct.domainOr("AZURESTACK"), s.cfg.Sealing == SealRefused, s.clk.Now())
		if err != nil {
			s.unauthorized(w, rec)
			return "", false
		}
		if cs.tls {
			n.bindings = s.cbt
		}
		cs.ntlm = n
		w.Header().Set("WWW-Authenticate", prefix+" "+base64.StdEncoding.EncodeToString(ch))
		rec.Status = http.StatusUnauthorized
		w.WriteHeader(rec.Status)
		return "", false
	case 3:
		rec.Auth = scheme + "/3"
		n := cs.ntlm
		cs.reset()
		if n == nil {
			s.unauthorized(w, rec)
			return "", false
		}
		a, err := n.authenticate(msg, s.acct)
		if err != nil {
			s.unauthorized(w, rec)
			return "", false
		}
		cs.user, cs.flags = a.User, a.Flags
		if a.Domain != "" {
			cs.user = a.Domain + `\` + a.User
		}
		if a.Flags&flagSeal != 0 && s.cfg.Sealing != SealRefused {
			if cs.session, err = newSealSession(a.Flags, a.SessionKey); err != nil {
				cs.reset()
				s.unauthorized(w, rec)
				return "", false
			}
		}
		rec.User = cs.user
		return cs.user, true
	}
	rec.Auth = scheme
	cs.reset()
	s.unauthorized(w, rec)
	return "", false
}

func (a account) domainOr(def string) string {
	if a.domain != "" {
		return strings.ToUpper(a.domain)
	}
	return def
}

func (s *Server) unauthorized(w http.ResponseWriter, rec *Record) {
	s.challenges(w)
	rec.Status = http.StatusUnauthorized
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(rec.Status)
}

func isSealed(contentType string) bool {
	mt, params, err := mime.ParseMediaType(contentType)
	return err == nil && mt == "multipart/encrypted" && strings.EqualFold(params["protocol"], sealProtocol)
}

func (s *Server) unsealBody(cs *connState, body []byte) ([]byte, error) {
	parts, err := parseSealedBody(body)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	for _, p := range parts {
		m, err := cs.session.unseal(p.sealed, p.sig)
		if err != nil {
			return nil, err
		}
		out.Write(m)
	}
	return out.Bytes(), nil
}

func (s *Server) sealBody(cs *connState, reply []byte) []byte {
	sealed, sig := cs.session.seal(reply)
	return sealedBody(sig, sealed, soapContentType)
}

// drop hijacks the connection and closes it without a reply.
func (s *Server) drop(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if c, _, err := hj.Hijack(); err == nil {
			c.Close()
			return
		}
	}
	panic(http.ErrAbortHandler) // closes the connection without a reply
}
