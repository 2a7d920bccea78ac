runbook {
  backend "azurem" { # ERROR: Unknown backend type
    storage_account_name = "azsstate"
  }
}
