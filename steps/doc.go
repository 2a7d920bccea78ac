// Package steps holds runbook's step types — product_secret and
// rotate_action on the Hub's admin Resource Manager, bmc_password on the
// Privileged Endpoint — and the connections they share (hub clients, PEP
// sessions). Registry lists them for the CLI.
//
// The step types own the interfaces they connect through: HubSource gives
// a *hub.Client and the roots it trusts, PEPSource opens a pep.Session.
// They are handed to the types' constructors (Conns implements both for a
// runbook, PEPDialer the second), so the executor carries no connections
// and no step type asserts a type back.
package steps
