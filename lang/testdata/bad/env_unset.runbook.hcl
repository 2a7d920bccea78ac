locals {
  s = env("RUNBOOK_TEST_UNSET_VARIABLE") # ERROR: Invalid function argument
}
