runbook {
  backend "azurerm" { # ERROR: Missing backend credential
    storage_account_name = "azsstate"
    container_name       = "runbook-state"
    key                  = "east/quarterly"
    endpont              = "https://azsstate.blob.east.contoso.com" # ERROR: Unsupported argument
  }
}
