package hub

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/runbook-dev/runbook/clock"
)

// tokenSource hands out access tokens for the stamp's audience and replaces
// a token the stamp has rejected.
//
// It exists instead of azcore's runtime.BearerTokenPolicy because that policy
// (v1.24) decides expiry on the wall clock and, on a 401 without a CAE
// claims challenge, only drops its own copy of the token: the next GetToken
// is answered from the credential's MSAL cache with the very token the stamp
// just refused, so a stamp whose clock has moved past the token's expiry
// (the simulator's token-expiry fault, or clock skew) fails the whole run.
// Here a rejected token is replaced by building a new credential, whose
// cache is empty, so the identity provider issues a new one (service
// principals), or by asking the credential with a claims challenge, which
// makes MSAL redeem its refresh token rather than hand back the cached
// access token (device code: the operator is not prompted again).
type tokenSource struct {
	clock   clock.Clock
	scope   string
	factory credentialFactory

	mu   sync.Mutex // held across GetToken: one sign-in at a time
	cred azcore.TokenCredential
	tok  azcore.AccessToken
}

// refreshMargin renews a token this long before it expires.
const refreshMargin = 5 * time.Minute

// token returns a token that is not about to expire on the clock.
func (s *tokenSource) token(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok.Token != "" && s.clock.Now().Add(refreshMargin).Before(s.tok.ExpiresOn) {
		return s.tok.Token, nil
	}
	return s.fetch(ctx, false, "")
}

// renew replaces rejected, unless another request has already done so.
func (s *tokenSource) renew(ctx context.Context, rejected string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok.Token != "" && s.tok.Token != rejected {
		return s.tok.Token, nil
	}
	claims := ""
	if s.factory.claims {
		// The claims a CAE challenge carries: a token issued after now.
		claims = fmt.Sprintf(`{"access_token":{"nbf":{"essential":true,"value":"%d"}}}`, s.clock.Now().Unix())
	}
	tok, err := s.fetch(ctx, s.factory.fresh, claims)
	if err != nil {
		return "", err
	}
	if tok == rejected {
		return "", errors.New("the identity provider returned the same token again (it is still valid by this " +
			"machine's clock): check the clock skew between this machine and the stamp, or sign in again")
	}
	return tok, nil
}

// fetch gets a token from the credential, from a new one when fresh is set,
// passing claims if any; s.mu must be held.
func (s *tokenSource) fetch(ctx context.Context, fresh bool, claims string) (string, error) {
	if s.cred == nil || fresh {
		cred, err := s.factory.build()
		if err != nil {
			return "", err
		}
		s.cred = cred
	}
	tok, err := s.cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{s.scope}, Claims: claims})
	if err != nil {
		s.tok = azcore.AccessToken{}
		return "", err
	}
	s.tok = tok
	return tok.Token, nil
}

// tokenPolicy authorizes each try with a bearer token and, when the stamp
// answers 401 (ExpiredAuthenticationToken, InvalidAuthenticationToken, …),
// signs in once more and repeats the request once. A second 401 is final.
type tokenPolicy struct{ src *tokenSource }

// Do implements policy.Policy.
func (p *tokenPolicy) Do(req *policy.Request) (*http.Response, error) {
	ctx := req.Raw().Context()
	tok, err := p.src.token(ctx)
	if err != nil {
		return nil, nonRetriable{fmt.Errorf("sign-in failed: %w", err)}
	}
	req.Raw().Header.Set("Authorization", "Bearer "+tok)
	resp, err := req.Next()
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	body, _ := runtime.Payload(resp)
	code, _ := parseErrorBody(body)
	fresh, rerr := p.src.renew(ctx, tok)
	if rerr != nil {
		return nil, nonRetriable{fmt.Errorf("the stamp rejected the access token (HTTP 401 %s) and signing in again failed: %w", code, rerr)}
	}
	if err := req.RewindBody(); err != nil {
		return nil, err
	}
	req.Raw().Header.Set("Authorization", "Bearer "+fresh)
	return req.Next()
}
