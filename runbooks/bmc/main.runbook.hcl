# Set the BMC password of every node through the Privileged Endpoint.
#
# What an operator does today with Enter-PSSession to an ERCS VM and
# Set-BmcCredential: runbook opens a PowerShell remoting session to the PEP
# (JEA configuration PrivilegedEndpoint), sends the new password only as an
# encrypted SecureString, and closes the session.
#
#   runbook plan  -simulate runbooks/bmc
#   runbook apply -simulate -auto-approve runbooks/bmc

runbook {
  description = "Set the BMC password on stamp local"
}

variable "bmc_password" {
  type      = string
  sensitive = true
  validation {
    condition     = length(var.bmc_password) <= 16
    error_message = "Azure Stack Hub BMC passwords are at most 16 characters."
  }
}

variable "pep_password" {
  type      = string
  sensitive = true
}

pep "local" {
  addresses = ["10.0.0.224", "10.0.0.225", "10.0.0.226"]
  username  = "AZURESTACK\\CloudAdmin"
  password  = var.pep_password
}

step "bmc_password" "bmc" {
  pep      = pep.local
  password = var.bmc_password
}
