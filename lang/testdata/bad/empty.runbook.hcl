# ERROR: Empty runbook
// Only comments: a runbook that declares nothing.
/* Nothing to validate, plan or apply. */
