package main

import (
	"os"
	"time"
)

// In the test binary, RUNBOOK_TEST_RENEW_EVERY shortens the renewal of a
// shared backend's leases, so that state_azurerm_lost sees a broken lease
// noticed within a moment: test-only wiring, absent from the shipped
// binary.
func init() {
	if v := os.Getenv("RUNBOOK_TEST_RENEW_EVERY"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			panic(err)
		}
		leaseRenewEvery = d
	}
}
