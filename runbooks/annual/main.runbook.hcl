# The yearly rotation of a stamp's secrets, in one change window.
#
#   runbook plan  -simulate runbooks/annual
#   runbook apply -simulate -auto-approve runbooks/annual
#
# In order, as Microsoft's procedures have them:
#
# 1. The stamp's external certificates (Start-SecretRotation on the PEP,
#    about an hour). Plan first runs Test-AzureStack -Group
#    SecretRotationReadiness (a warning blocks), then judges every PFX of
#    the certificate folder as the Readiness Checker does, for the endpoint
#    its folder serves, and shows it beside the certificate that endpoint
#    serves now. Apply runs the same tests again, starts the rotation with
#    the share credential and the PFX password as encrypted SecureStrings,
#    journals the action plan's id (an interrupted apply re-attaches to it
#    instead of starting again) and verifies with Test-AzureStack -Include
#    AzsExternalCertificates. After a failed rotation, the next plan
#    proposes Start-SecretRotation -ReRun.
# 2. The stamp's internal secrets (Start-SecretRotation -Internal; Microsoft
#    documents no duration, runbook plans four hours).
# 3. The Event Hubs resource provider: its certificate, then its secret
#    rotation (about four hours on a real stamp).
# 4. The BMC password of every node (Set-BmcCredential).
#
# On a real stamp, certificate_dir is the folder you prepared (on a Windows
# jump host it may be the UNC path itself) and certificate_share the same
# folder as the ERCS VMs reach it; both end in Certificates, which holds the
# ADFS (or AAD) folder with one PFX per endpoint folder. Under -simulate, a
# missing certificate folder is filled with valid certificates from the
# simulated stamp's CA; to rehearse a bad one, write it yourself:
#
#   PW=Annual-Pfx-Passw0rd runbook sim certs -external -runbook runbooks/annual \
#     -dir runbooks/annual/certs/share/Certificates -password-env PW -flaw key-usage
#
# The defaults of the secrets are for the simulator only: a real runbook
# declares them without defaults and takes them from RUNBOOK_VAR_name or a
# -var-file kept out of version control.

runbook {
  description = "Yearly rotation: external certificates, internal secrets, Event Hubs, BMC"
  owner       = "azs-operators@contoso.com"
}

variable "pfx_password" {
  type      = string
  sensitive = true
  default   = "Annual-Pfx-Passw0rd"
}

variable "share_password" {
  type      = string
  sensitive = true
  default   = "Annual-Share-Passw0rd"
}

variable "client_secret" {
  type      = string
  sensitive = true
  default   = "annual-client-secret"
}

variable "pep_password" {
  type      = string
  sensitive = true
  default   = "Annual-Pep-Passw0rd"
}

variable "bmc_password" {
  type      = string
  sensitive = true
  default   = "Annual-Bmc-2027"
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
  # Every session ends with Close-PrivilegedEndpoint, which copies its
  # transcript here.
  transcripts_share    = "\\\\10.0.0.5\\transcripts"
  transcripts_username = "CONTOSO\\certshare"
  transcripts_password = var.share_password
}

window "annual" {
  start       = timeadd(plantimestamp(), "-5m")
  duration    = "12h"
  description = "A twelve-hour window that opened five minutes before the plan"
}

step "secret_rotation" "external" {
  pep               = pep.local
  kind              = "external"
  identity          = "adfs"
  certificate_dir   = "certs/share/Certificates"
  certificate_share = "\\\\10.0.0.5\\share\\Certificates"
  share_username    = "CONTOSO\\certshare"
  share_password    = var.share_password
  pfx_password      = var.pfx_password
  ca_file           = "certs/root-ca.pem"
  min_validity      = "180d"
}

step "secret_rotation" "internal" {
  pep        = pep.local
  kind       = "internal"
  depends_on = [step.external]
}

step "product_secret" "eventhub_cert" {
  hub          = hub.local
  product_id   = "microsoft.eventhub"
  secret_name  = "aseh-ssl-gateway-pfx"
  pfx_file     = "certs/eventhub.pfx"
  pfx_password = var.pfx_password
  depends_on   = [step.internal]
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
