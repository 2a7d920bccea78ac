// Package pep is runbook's client for the Azure Stack Hub Privileged
// Endpoint (PEP): a constrained (JEA) PowerShell endpoint, configuration
// PrivilegedEndpoint, on the ERCS VMs.
//
// It owns the PowerShell remoting session: Dial opens a RunspacePool on
// http://schemas.microsoft.com/powershell/<configuration> over the wsman
// transport (trying the ERCS addresses in order), Session.Invoke runs one
// command with named parameters (never script text, which the endpoint
// refuses with ScriptsNotAllowed and transcribes) and collects its output
// objects, error records and progress, and Session.Close closes the pool.
// The byte and XML layers come from package pep/psrp.
//
// Secrets: a Param marked Secret (a BMC password, a certificate password, a
// credential) is sent only as an encrypted <SS> element after the session
// key exchange, so the value appears in no command text, no log line, no
// error message and, on the PEP, no transcript (which shows
// "System.Security.SecureString"). The client refuses locally anything that
// would put a secret elsewhere.
package pep
