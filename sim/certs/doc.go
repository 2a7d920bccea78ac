// Package certs is the public key infrastructure of the simulated Azure Stack
// Hub stamp.
//
// It owns the stamp's root certificate authority (CA), the TLS certificates
// the simulators serve, and the PKCS#12 (PFX) files an operator would upload
// with Set-AzsProductSecret — both good ones and deliberately flawed ones, so
// that tests can prove the simulated stamp rejects each kind of bad
// certificate exactly as documented (wrong SAN, expired, not yet valid,
// self-signed, issued by another CA, no private key, SHA-1 signature, weak
// key). It also issues client certificates for service-principal
// certificate authentication.
//
// # Keys
//
// Azure Stack Hub requires RSA keys for its external certificates, and RSA
// key generation is slow (about 0.1 s per 2048-bit key on a small machine).
// The package therefore generates each key lazily and reuses one key per
// purpose for the life of the process: one per CA name, one for TLS servers,
// one for PFX leaves, one for client certificates, one weak 1024-bit key.
// Certificates (serial numbers, validity, names) are always fresh. Two CAs
// created with the same name in one process share a key and are therefore
// interchangeable as issuers; give an impostor CA a different name. None of
// this is suitable for a real PKI: it exists for simulation and tests.
//
// # Time
//
// Nothing here reads the wall clock: every validity period is given by the
// caller, usually from the stamp's clock.Clock, so certificates agree with
// the simulator's virtual time.
package certs
