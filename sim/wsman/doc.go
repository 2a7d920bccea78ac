// Package wsman is the simulated WS-Management (WinRM) server core.
//
// It owns everything between the TCP socket and a shell: the HTTP/HTTPS
// listener on loopback (with a generated certificate authority whose PEM a
// test can trust), authentication (Basic, and NTLMv2 over Negotiate verified
// against one configured account, kept per TCP connection as http.sys does),
// NTLM message sealing (the multipart/encrypted bodies a Windows host requires
// when AllowUnencrypted=false), the SOAP envelope (decoding the WS-Addressing
// and WS-Management headers, dispatching on a:Action, echoing a:RelatesTo,
// encoding faults), the table of open shells, the long-polled Receive with its
// OperationTimeout fault, fault injection and a request log for tests.
//
// What a shell does is not this package's business: shells are served by a
// ShellHandler registered for a ResourceURI with Server.Handle. The package
// ships one handler, a tiny cmd.exe (echo, type, more, timeout, exit) under
// CmdResourceURI, so the unmodified masterzen/winrm client can be exercised
// end to end; the simulated Privileged Endpoint (package sim/pep) registers a
// PowerShell remoting handler under
// http://schemas.microsoft.com/powershell/PrivilegedEndpoint.
//
// Everything that waits (the Receive long-poll, slow replies, the cmd shell's
// timeout command) waits on the injected clock.Clock, so a test on a fake
// clock decides when a poll times out.
package wsman
