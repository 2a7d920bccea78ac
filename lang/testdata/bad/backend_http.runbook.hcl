variable "state_key" {
  type      = string
  sensitive = true
  default   = "a2V5"
}

runbook {
  backend "azurerm" {
    storage_account_name = "azsstate"
    endpoint             = "http://azsstate.blob.east.contoso.com" # ERROR: Invalid backend endpoint
    container_name       = "runbook-state"
    key                  = "east/quarterly"
    access_key           = var.state_key
  }
}
