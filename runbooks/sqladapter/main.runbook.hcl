# Rotate the SQL Server resource provider adapter's SSL certificate.
#
# The SQL adapter (product microsoft.sqlrp) takes its certificate as secret
# SSLCert of its deployed package; its secret rotation takes minutes, not
# hours. The deployed package version is found at plan time from the
# product's deployment, so the runbook does not change with each update.
#
#   runbook plan  -simulate runbooks/sqladapter
#   runbook apply -simulate -auto-approve runbooks/sqladapter

runbook {
  description = "Rotate the SQL adapter certificate on stamp local"
  owner       = "azs-operators@contoso.com"
}

variable "pfx_password" {
  type      = string
  sensitive = true
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

step "product_secret" "sql_cert" {
  hub          = hub.local
  product_id   = "microsoft.sqlrp"
  secret_name  = "SSLCert"
  pfx_file     = "certs/sqlrp.pfx"
  pfx_password = var.pfx_password
}

step "rotate_action" "sql" {
  hub        = hub.local
  product_id = "microsoft.sqlrp"
  depends_on = [step.sql_cert]
  retry {
    attempts = 2
    delay    = "5m"
  }
  postcondition {
    condition     = self.status == "SecretRotationSucceeded"
    error_message = "The SQL adapter's secret rotation did not succeed."
  }
}
