// Package steps holds runbook's step types — product_secret and
// rotate_action on the Hub's admin Resource Manager, bmc_password on the
// Privileged Endpoint — and the connections they share (hub clients, PEP
// sessions). Registry lists them for the CLI.
package steps
