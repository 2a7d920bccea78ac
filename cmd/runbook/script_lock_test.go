package main

import (
	"os"
	"strconv"
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
	// RUNBOOK_TEST_SEGMENT_BLOCKS makes a shared backend's journal roll
	// over to a new segment after that many blocks (state_azurerm_segments).
	if v := os.Getenv("RUNBOOK_TEST_SEGMENT_BLOCKS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			panic(err)
		}
		journalSegmentBlocks = n
	}
}
