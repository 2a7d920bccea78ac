# A full stamp rotation inside a Saturday-night change window: the Event Hubs
# and SQL adapter certificates in parallel, each followed by its provider's
# rotation, then the BMC password once both rotations are done.
#
# Policies make sure no certificate that expires soon is uploaded, and the
# window check refuses to start a four-hour rotation that cannot finish before
# the window closes.
#
#   runbook plan  -simulate runbooks/stamp
#   runbook apply -simulate -auto-approve runbooks/stamp
#
# On a terminal, runbook asks for the four secrets (input hidden); elsewhere
# set RUNBOOK_VAR_pfx_password, RUNBOOK_VAR_client_secret,
# RUNBOOK_VAR_bmc_password and RUNBOOK_VAR_pep_password.

runbook {
  description = "Quarterly secret rotation of stamp local"
  owner       = "azs-operators@contoso.com"
}

variable "pfx_password" {
  type      = string
  sensitive = true
}

variable "client_secret" {
  type      = string
  sensitive = true
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

variable "min_validity_days" {
  type        = number
  default     = 180
  description = "A new certificate must be valid for at least this many days."
}

locals {
  region = "local"
  fqdn   = "azurestack.external"
}

hub "stamp" {
  endpoint = "https://adminmanagement.${local.region}.${local.fqdn}"
  ca_file  = "certs/root-ca.pem"
  auth {
    method        = "client_secret"
    tenant        = "adfs"
    client_id     = "runbook-operator"
    client_secret = var.client_secret
  }
}

pep "stamp" {
  addresses = ["10.0.0.224", "10.0.0.225", "10.0.0.226"]
  username  = "AZURESTACK\\CloudAdmin"
  password  = var.pep_password
}

window "saturday" {
  every       = "saturday 22:00"
  timezone    = "UTC"
  duration    = "8h"
  description = "Saturday-night maintenance window"
}

step "product_secret" "eventhub_cert" {
  hub          = hub.stamp
  product_id   = "microsoft.eventhub"
  secret_name  = "aseh-ssl-gateway-pfx"
  pfx_file     = "certs/eventhub.pfx"
  pfx_password = var.pfx_password
}

step "rotate_action" "eventhub" {
  hub               = hub.stamp
  product_id        = "microsoft.eventhub"
  depends_on        = [step.eventhub_cert]
  expected_duration = "4h"
  timeout           = "6h"
}

step "product_secret" "sql_cert" {
  hub          = hub.stamp
  product_id   = "microsoft.sqlrp"
  secret_name  = "SSLCert"
  pfx_file     = "certs/sqlrp.pfx"
  pfx_password = var.pfx_password
}

step "rotate_action" "sql" {
  hub        = hub.stamp
  product_id = "microsoft.sqlrp"
  depends_on = [step.sql_cert]
  retry {
    attempts = 2
    delay    = "5m"
  }
}

step "bmc_password" "bmc" {
  pep        = pep.stamp
  password   = var.bmc_password
  depends_on = [step.eventhub, step.sql]
}

policy "eventhub_certificate_validity" {
  condition     = step.eventhub_cert.certificate.days_left >= var.min_validity_days
  error_message = "The new Event Hubs certificate expires too soon."
}

policy "sql_certificate_validity" {
  condition     = step.sql_cert.certificate.days_left >= var.min_validity_days
  error_message = "The new SQL adapter certificate expires too soon."
}
