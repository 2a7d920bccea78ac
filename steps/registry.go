package steps

import "github.com/runbook-dev/runbook/executor"

// Registry returns every step type runbook ships.
func Registry() *executor.Registry { return RegistryWith(nil) }

// RegistryWith is Registry with served reading the certificates the
// stamp's endpoints present (nil: over TLS from this machine; -simulate
// reads the simulated stamp's).
func RegistryWith(served ServedCertificates) *executor.Registry {
	return executor.NewRegistry(NewProductSecret(), NewRotateAction(), NewBMCPassword(), NewWait(),
		NewReadinessCheck(), NewSecretRotation(served))
}
