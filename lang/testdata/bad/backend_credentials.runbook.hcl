variable "state_key" {
  type      = string
  sensitive = true
  default   = "a2V5"
}

runbook {
  backend "azurerm" { # ERROR: Conflicting backend credentials
    storage_account_name = "azsstate"
    container_name       = "Runbook_State" # ERROR: Invalid container name
    key                  = "east//quarterly" # ERROR: Invalid backend key
    access_key           = var.state_key
    sas_token            = var.state_key
  }
}
