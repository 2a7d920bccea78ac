package steps

import (
	"context"
	"crypto/x509"

	"github.com/runbook-dev/runbook/hub"
	"github.com/runbook-dev/runbook/pep"
)

// HubSource gives step types the client of a hub block. The step types own
// this interface; Conns implements it for a runbook, and tests may hand in
// anything that reaches a (simulated) stamp.
//
// Implementations share one client per hub and are safe for concurrent use.
type HubSource interface {
	// Hub returns the client of the hub block called name and the root CA
	// certificates it trusts beyond the system roots (nil when none), which
	// step types use to check locally that a certificate chains to the
	// stamp's root. An error says why no client could be made; it is shown
	// to the user as is.
	Hub(ctx context.Context, name string) (*hub.Client, []*x509.Certificate, error)
}

// PEPSource opens sessions on the Privileged Endpoint of a pep block. The
// step types own this interface; Conns and PEPDialer implement it.
//
// Implementations are safe for concurrent use.
type PEPSource interface {
	// PEP opens a new session on the PEP of the pep block called name. The
	// caller closes it (the PEP allows few sessions at a time).
	PEP(ctx context.Context, name string) (pep.Session, error)
}
