// Package certcheck judges PFX (PKCS#12) files as Microsoft's Azure Stack
// Hub Readiness Checker does (Invoke-AzsHubDeploymentCertificateValidation
// and its predecessors), before they reach a stamp.
//
// Check opens one PFX and applies every rule the Readiness Checker lists:
// the password opens the file, a private key is present, the chain is
// complete, in order and carries nothing else, the DNS names cover the
// endpoint, key usage and extended key usage, RSA of at least 2048 bits, no
// SHA-1 signature, validity of at least seven days (or a stricter policy),
// the PFX encryption (TripleDES-SHA1), and the issuing root (the stamp's
// own CA, or another root the operator declared trusted, where Microsoft
// allows a CA change at rotation). CheckPassword applies the documented
// limits on the PFX password's characters.
//
// Layout describes the folder tree Start-SecretRotation reads
// (Certificates\{AAD|ADFS}\<endpoint>\<file>.pfx) and CheckDir judges a
// whole tree: every endpoint folder present with exactly one PFX, and each
// PFX judged for the DNS name its endpoint serves.
//
// Every Finding names its Rule; a FolderFinding adds the folder and file,
// so that a caller can print "ADFS\ARM Admin\management.pfx: Key Usage: …".
// Nothing here reads the clock or prints a password: the time is given in
// the Policy and messages describe certificates, never the input secret.
package certcheck
