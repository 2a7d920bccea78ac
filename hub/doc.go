// Package hub is runbook's client for the admin Azure Resource Manager (ARM)
// endpoint of an Azure Stack Hub stamp.
//
// It owns everything between a hub block of a runbook and the stamp's admin
// ARM API:
//
//   - metadata discovery (GET /metadata/endpoints) that yields the login
//     endpoint and the token audience, and decides between AD FS and Entra ID;
//   - credentials from azidentity (client secret, client certificate as PFX
//     or PEM, device code, Azure CLI), pointed at the stamp's own authority
//     with instance discovery off, so the client works on disconnected stamps;
//   - the HTTP pipeline: azcore's runtime.Pipeline with the stamp's root CA,
//     our own retry policy and token policy and a redacting request log;
//   - the Default Provider Subscription lookup;
//   - the Microsoft.Deployment.Admin calls that secret rotation needs: product
//     deployments, packages and secrets, validate and import of a certificate
//     secret, rotateSecrets, and our own long-running-operation poll loop.
//
// # Time
//
// Every wait (retry back-off, Retry-After, the poll interval) goes through the
// injected clock.Clock, never the wall clock, so a four-hour rotation runs in
// milliseconds under clock.Fake. azcore's built-in retry policy and its
// Poller sleep in real time, so the pipeline turns azcore's retries off
// (MaxRetries -1) and PollUntilDone is not used. The only real-time limits
// left are socket-level deadlines of the HTTP transport (dial, TLS handshake,
// response headers), which guard against a hung connection and cannot run on
// a virtual clock.
//
// # Reply shapes
//
// The client accepts every reply the Microsoft.Deployment.Admin 2019-01-01
// specification allows (its examples are test fixtures under
// testdata/spec): rotateSecrets answered 202 (or 200) without an operation
// URL is followed through the product deployment's status; validate and
// import, marked long-running, are followed when the stamp returns an
// operation URL; a failed operation's reason comes from its error field
// where a stamp sends one, else from the deployment's properties.error;
// errors come as ExtendedErrorInfo or bare; lists come as {value,
// nextLink}, whose nextLink is followed, or as a bare array.
//
// # Secrets
//
// No secret leaves the package except in a request body to the stamp or its
// identity provider: the client secret, the certificate password and the PFX
// password and bytes are redacted from every error and log line (even if the
// server echoes them back), request and response bodies are never logged,
// and the Secret type prints as "(sensitive)" with every fmt verb.
//
// # Errors
//
// Every failure is an *Error naming the stamp, the operation, the HTTP status
// and the ARM error code and message; IsNotFound and IsConflict classify it.
package hub
