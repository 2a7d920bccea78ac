// Package expiry is the expiry radar: it reads, for the hubs and PEPs a
// runbook declares, when every secret it can see expires and where that
// date comes from (an admin alert, a product secret's expirationDate,
// Get-AzureStackStampInformation, the TLS certificate an endpoint serves);
// it names the steps of the runbook that would rotate each secret; and it
// turns what it found into the warnings a plan shows at the top.
//
// Reading is read-only and bounded by the caller's context. The package
// knows no clock: callers pass "now".
package expiry
