package steps

import "github.com/runbook-dev/runbook/executor"

// Registry returns every step type runbook ships, connected to stamps
// through hubs and peps, with served reading the certificates the stamp's
// endpoints present (nil: over TLS from this machine; -simulate reads the
// simulated stamp's). Types given nil sources can decode and validate
// configurations but not plan or apply: that is what validate needs.
func Registry(hubs HubSource, peps PEPSource, served ServedCertificates) *executor.Registry {
	return executor.NewRegistry(NewProductSecret(hubs), NewRotateAction(hubs), NewBMCPassword(peps), NewWait(),
		NewReadinessCheck(peps), NewSecretRotation(peps, served))
}
