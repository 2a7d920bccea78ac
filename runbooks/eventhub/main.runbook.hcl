# Rotate the Event Hubs resource provider's SSL certificate.
#
# What an operator does today with Set-AzsProductSecret and
# Invoke-AzsProductRotateSecretsAction: upload the new PFX to the stamp's Key
# Vault, then rotate the provider's secrets (about four hours).
#
#   runbook plan  -simulate runbooks/eventhub
#   runbook apply -simulate -auto-approve runbooks/eventhub
#
# The PFX password comes from the environment (RUNBOOK_VAR_pfx_password) or a
# -var-file kept out of version control; it is never printed or stored.

runbook {
  description = "Rotate the Event Hubs certificate on stamp local"
  owner       = "azs-operators@contoso.com"
}

variable "pfx_password" {
  type        = string
  sensitive   = true
  description = "Password of certs/eventhub.pfx."
  validation {
    condition     = length(var.pfx_password) >= 8
    error_message = "Azure Stack Hub requires PFX passwords of at least 8 characters."
  }
}

variable "client_secret" {
  type      = string
  sensitive = true
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

step "product_secret" "eventhub_cert" {
  hub          = hub.local
  package_id   = "microsoft.eventhub.1.2003.0.0"
  secret_name  = "aseh-ssl-gateway-pfx"
  pfx_file     = "certs/eventhub.pfx"
  pfx_password = var.pfx_password
}

step "rotate_action" "eventhub" {
  hub        = hub.local
  product_id = "microsoft.eventhub"
  depends_on = [step.eventhub_cert]
  timeout    = "6h"
}

policy "certificate_outlives_next_rotation" {
  condition     = timecmp(step.eventhub_cert.certificate.not_after, timeadd(plantimestamp(), "4380h")) > 0
  error_message = "The new Event Hubs certificate must be valid for at least six more months."
}
