package hub

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// authorize checks the request's bearer token as ARM does and, if it is not
// acceptable, writes the 401 with ARM's error code and a WWW-Authenticate
// challenge, and returns false. Checks, in order: header present and
// well-formed (AuthenticationFailed), token issued by this stamp with a
// valid signature (InvalidAuthenticationToken), not invalidated and not past
// exp on the stamp clock (ExpiredAuthenticationToken), audience is the
// admin ARM audience (InvalidAuthenticationTokenAudience).
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) bool {
	h := r.Header.Get("Authorization")
	scheme, tok, _ := strings.Cut(h, " ")
	if h == "" {
		s.unauthorized(w, r, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.")
		return false
	}
	tok = strings.TrimSpace(tok)
	if !strings.EqualFold(scheme, "Bearer") || tok == "" {
		s.unauthorized(w, r, "AuthenticationFailed",
			"Authentication failed. The 'Authorization' header is provided in an invalid format.")
		return false
	}
	c, err := s.idp.verify(tok)
	now := s.clock.Now()
	switch {
	case errors.Is(err, errRevoked):
		s.unauthorized(w, r, "ExpiredAuthenticationToken",
			fmt.Sprintf("The access token is no longer valid: the identity provider expired it before current UTC time '%s'.",
				now.UTC().Format(armErrorTime)))
		return false
	case err != nil:
		s.unauthorized(w, r, "InvalidAuthenticationToken", "The access token is invalid.")
		return false
	case !now.Before(unixTime(c.Exp)):
		s.unauthorized(w, r, "ExpiredAuthenticationToken",
			fmt.Sprintf("The access token expiry UTC time '%s' is earlier than current UTC time '%s'.",
				unixTime(c.Exp).Format(armErrorTime), now.UTC().Format(armErrorTime)))
		return false
	case !sameAudience(c.Aud, s.opts.Audience):
		s.unauthorized(w, r, "InvalidAuthenticationTokenAudience",
			fmt.Sprintf("The access token has been obtained for wrong audience or resource '%s'. "+
				"It should exactly match with one of the allowed audiences '%s','%s/'.",
				c.Aud, s.opts.Audience, strings.TrimRight(s.opts.Audience, "/")))
		return false
	}
	return true
}

// armErrorTime is how ARM prints times in authentication errors.
const armErrorTime = "1/2/2006 3:04:05 PM"

// unauthorized writes ARM's 401: the challenge names the login endpoint, as
// ARM's does, and carries the message as error_description.
func (s *Server) unauthorized(w http.ResponseWriter, r *http.Request, code, msg string) {
	desc := strings.ReplaceAll(msg, `"`, "'")
	w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer authorization_uri="%s", error="invalid_token", error_description="%s"`,
		loginEndpoint(baseURL(r), s.opts.Identity), desc))
	writeARMError(w, http.StatusUnauthorized, code, "%s", msg)
}
