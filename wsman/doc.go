// Package wsman is runbook's WS-Management (WinRM) client transport.
//
// It owns the wire below PowerShell remoting: the TCP (or TLS) connections
// to the endpoint, authentication on them, NTLM message sealing, the HTTP
// status and content-type checks, the WS-Management envelope header, faults,
// and the generic shell operations (Create, Command, Send, Receive, Signal,
// Delete) for any ResourceURI, so package pep can speak PSRP to
// http://schemas.microsoft.com/powershell/PrivilegedEndpoint through
// Client.CreateShell or post its own envelopes with Client.Post. For plain
// cmd shells, Client.Winrm returns a github.com/masterzen/winrm client
// whose every request goes through the same transport.
//
// Three modes (Config.Auth, Config.HTTPS):
//
//   - NTLM with message sealing over HTTP (port 5985): the Privileged
//     Endpoint's default, since Windows refuses clear text with
//     AllowUnencrypted=false. Every body travels as
//     multipart/encrypted (MS-WSMV 2.2.9.1) sealed and signed with the NTLM
//     session keys (MS-NLMP 3.4.4).
//   - NTLM over HTTPS (port 5986): TLS verified against Config.CAPEM (or the
//     system roots); Config.Insecure skips verification and is reported as a
//     warning (Client.Warnings and the logger), never silently. Channel
//     binding (CBT) is sent, so CbtHardeningLevel=Strict hosts accept it.
//   - Basic: for the simulator only; New refuses it for any address that is
//     not a loopback IP literal, before any network traffic.
//
// Why not masterzen's own transports. winrm.NewEncryption("ntlm") builds a
// new NTLM context per message (four HTTP requests each), races when Send
// and Receive run concurrently (stdin silently lost, "checksum does not
// match", nil-pointer panics), never checks the HTTP status of a sealed
// reply, and on any priming failure falls back to unsealed NTLM, whose
// negotiator in turn falls back to Basic: against a Basic-only server it
// sends the password and the SOAP in clear and reports success. Its
// ClientNTLM has the same Basic fallback. So this package implements
// winrm.Transporter itself on the same libraries (bodgit/ntlmssp for NTLM
// and sealing) with these rules:
//
//   - each connection carries one request at a time and has its own NTLM
//     security context, authenticated once (two extra round trips, then
//     one per message); up to Config.MaxConnections (2) connections, so a
//     Send need not wait behind a long-polling Receive, the cost masterzen's
//     lock-wrapped encryption pays;
//   - only Negotiate (NTLMv2) is accepted in the NTLM modes; a server that
//     offers only Basic, drops the sealing flags from its challenge, or
//     answers a sealed request in clear is refused with an error;
//   - HTTP status and content type are checked on every reply; a 401 on an
//     authenticated connection (an expired context) re-authenticates once
//     and resends, which is safe because the request was not processed;
//   - a dropped connection is redialled for the next request, never
//     silently for the one in flight, whose fate is unknown;
//   - the password is never logged nor put in an error.
//
// Time: every request carries a context and, for the masterzen path, a
// deadline of OperationTimeout plus a grace period on the injected clock.
// Cancellation closes the connection at once, so a blocked long-poll ends
// without waiting for the server. Keep OperationTimeout short (20s): it
// bounds how long masterzen's Receive loop, which only looks at its context
// between polls, takes to notice a cancellation.
package wsman
