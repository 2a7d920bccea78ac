# The README demo: a complete rotation against the built-in simulated stamp.
#
#   go run ./cmd/runbook apply -simulate -auto-approve ./runbooks/demo
#
# It imports a new Event Hubs certificate (made from the simulated stamp's CA
# on first use), rotates the Event Hubs secrets (four hours on a real stamp,
# a few seconds on the simulator's sped-up clock), then sets the BMC password
# through the Privileged Endpoint, all inside an eight-hour change window that
# opens when you plan.
#
# The secrets below have defaults so that the demo needs no setup. They are
# for the simulator only: a real runbook declares sensitive variables without
# defaults and takes them from RUNBOOK_VAR_name or a -var-file kept out of
# version control (see runbooks/stamp).

runbook {
  description = "Demo: Event Hubs certificate, rotation and BMC password on the simulated stamp"
  owner       = "azs-operators@contoso.com"
}

variable "pfx_password" {
  type      = string
  sensitive = true
  default   = "Demo-Pfx-Passw0rd"
}

variable "client_secret" {
  type      = string
  sensitive = true
  default   = "demo-client-secret"
}

variable "pep_password" {
  type      = string
  sensitive = true
  default   = "Demo-Pep-Passw0rd"
}

variable "bmc_password" {
  type      = string
  sensitive = true
  default   = "Demo-Bmc-2026"
  validation {
    condition     = length(var.bmc_password) <= 16
    error_message = "Azure Stack Hub BMC passwords are at most 16 characters."
  }
}

hub "local" {
  endpoint = "https://adminmanagement.local.azurestack.external"
  ca_file  = "certs/root-ca.pem"
  auth {
    method        = "client_secret"
    tenant        = "adfs"
    client_id     = "runbook-operator"
    client_secret = var.client_secret
  }
}

pep "local" {
  addresses = ["10.0.0.224", "10.0.0.225", "10.0.0.226"]
  username  = "AZURESTACK\\CloudAdmin"
  password  = var.pep_password
}

window "demo" {
  start       = timeadd(plantimestamp(), "-5m")
  duration    = "8h"
  description = "An eight-hour window that opened five minutes before the plan"
}

step "product_secret" "eventhub_cert" {
  hub          = hub.local
  product_id   = "microsoft.eventhub"
  secret_name  = "aseh-ssl-gateway-pfx"
  pfx_file     = "certs/eventhub.pfx"
  pfx_password = var.pfx_password
}

step "rotate_action" "eventhub" {
  hub        = hub.local
  product_id = "microsoft.eventhub"
  depends_on = [step.eventhub_cert]
}

step "bmc_password" "bmc" {
  pep        = pep.local
  password   = var.bmc_password
  depends_on = [step.eventhub]
}

policy "certificate_valid_six_months" {
  condition     = step.eventhub_cert.certificate.days_left >= 180
  error_message = "The new Event Hubs certificate must be valid for at least six more months."
}
