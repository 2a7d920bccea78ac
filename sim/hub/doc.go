// Package hub is the simulated Azure Stack Hub stamp that runbook's tests,
// `runbook sim` and `-simulate` run against: the admin Azure Resource
// Manager (ARM) endpoint and the stamp's identity provider, served over real
// HTTPS on loopback.
//
// It owns the wire behaviour that the design notes hub-api.md (§4) and
// identity.md describe:
//
//   - GET /metadata/endpoints (api-version 2015-01-01 or 1.0), which names
//     the login endpoint and the token audience;
//   - the identity provider in AD FS style (/adfs/.well-known/…,
//     /adfs/oauth2/token/) or Entra style (/{tenant}/v2.0/.well-known/…,
//     /{tenant}/oauth2/v2.0/token), issuing RS256 JWTs for registered
//     clients that authenticate with a client secret or a certificate
//     assertion, so the unmodified azidentity credentials work;
//   - bearer-token checks on every ARM request, failing with ARM's 401
//     codes (AuthenticationFailed, InvalidAuthenticationToken,
//     ExpiredAuthenticationToken, InvalidAuthenticationTokenAudience);
//   - GET /subscriptions with the Default Provider Subscription;
//   - Microsoft.Deployment.Admin: product deployments, packages and secrets,
//     certificate validate and import with the documented certificate rules,
//     rotateSecrets as an asynchronous operation whose progress follows the
//     injected clock, and its operation results.
//
// # Determinism and time
//
// Every identifier (subscriptions, tenant, operations, action plans) is
// derived from names and counters, never from randomness, and every time
// comes from the clock.Clock in Options: with a clock.Fake a four-hour
// rotation completes the moment a test advances the clock, and with a
// clock.Scaled a demo runs it in seconds. Progress is computed lazily from
// Clock.Now on each request, so the simulator runs no timers of its own.
//
// # Secrets
//
// The simulator never logs or stores a client secret, a PFX password or PFX
// bytes. The request log (Calls) records method, path, query and status, but
// no bodies and no headers. For an imported certificate only its
// fingerprint is kept: SHA-256 thumbprint, subject, SANs and validity.
//
// # Scenarios, faults and inspection
//
// A Scenario is the stamp's initial data (products, versions, secrets,
// expiry, rotation durations, scripted failures) and the shapes of its
// replies (Replies: every shape Microsoft's specification of the API allows,
// such as a bare 202 from rotateSecrets, long-running validate and import,
// bare-array lists, operation results under another location, and the error
// field real stamps may add); Fault values inject
// latency, throttling, server errors, connection resets, token expiry, a
// vanishing operation or a rotation failing at a given percentage, at
// construction or at run time (Server.Inject). State returns a deep copy of
// the stamp, Calls the request log. With Options.StatePath the stamp's state
// survives restarts of the process, as a real stamp's does.
package hub
