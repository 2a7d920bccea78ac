// Package psrp is runbook's codec for the PowerShell Remoting Protocol
// ([MS-PSRP]), the protocol that New-PSSession speaks to a PowerShell
// endpoint such as the Azure Stack Hub Privileged Endpoint.
//
// It owns the byte and XML layers and nothing above them:
//
//   - fragments (§2.2.4): ObjectId, FragmentId, start/end flags and a blob,
//     with a Fragmenter that cuts messages to a maximum size and a
//     Defragmenter that reassembles interleaved objects;
//   - messages (§2.2.1): destination, message type, RunspacePool and
//     pipeline GUIDs (in the .NET byte order) and UTF-8 CLIXML data;
//   - the CLIXML serializer (§2.2.5) for the primitive and complex types the
//     client and the simulated endpoint exchange, including the _xHHHH_
//     string escaping;
//   - typed forms of the messages runbook sends and receives
//     (SESSION_CAPABILITY, INIT_RUNSPACEPOOL, CREATE_PIPELINE, PIPELINE_STATE,
//     ERROR_RECORD, …);
//   - the session-key exchange (§2.2.2.3-5, §3.1.5.4.3) and SecureString
//     encryption (§2.2.5.1.24).
//
// The package does no I/O. The WS-Management transport lives in package
// wsman, the client session in package pep and the simulated endpoint in
// package sim/pep; all three use this codec, and the tests check it against
// the worked examples of the specification (testdata/) so that client and
// simulator cannot merely agree with each other.
//
// Secrets: a SecureString prints as "System.Security.SecureString" in every
// format verb and in JSON, and the serializer writes it only encrypted.
package psrp
