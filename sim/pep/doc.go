// Package pep is the simulated Azure Stack Hub Privileged Endpoint: the JEA
// PowerShell endpoint "PrivilegedEndpoint" that the ERCS VMs serve over
// WS-Management.
//
// It owns the server side of PowerShell remoting for that endpoint (built on
// the shared codec in package pep/psrp) and the endpoint's behaviour:
//
//   - the RunspacePool life cycle: SESSION_CAPABILITY, INIT_RUNSPACEPOOL,
//     APPLICATION_PRIVATE_DATA, RUNSPACEPOOL_STATE, the session-key
//     exchange, CREATE_PIPELINE, output, errors and pipeline state;
//   - the JEA rules of a NoLanguage endpoint: only listed commands, one
//     command per pipeline, no script text and no variables (rejected with
//     ScriptsNotAllowed, as a real JEA endpoint answers), unknown commands
//     failing with CommandNotFoundException;
//   - the cmdlets runbook drives (Set-BmcCredential and its older name
//     Set-BmcPassword, Get-AzureStackStampInformation, Start-SecretRotation,
//     Get-ActionStatus, Close-PrivilegedEndpoint, Get-Command) with their
//     parameter rules;
//   - a fake BMC per node whose password is kept only as a salted HMAC;
//   - the transcript the PEP keeps of every command, with SecureString
//     values recorded as "System.Security.SecureString";
//   - faults: a BMC that rejects a password, a session limit, a rotation
//     that fails, slow action plans on the injected clock (transport faults
//     such as wrong credentials or dropped connections come from sim/wsman);
//   - optional persistence of the stamp state to a JSON file.
//
// A PEP is a wsman.ShellHandler: Register it on one or more sim/wsman
// servers (one per simulated ERCS VM; they share the stamp state), or use
// Start for a server with the PEP already registered. Behaviour the public
// documentation leaves open (output of Set-BmcCredential, error texts of
// the action plans, the Get-ActionStatus schema) is invented here and says
// so where it is defined.
package pep
