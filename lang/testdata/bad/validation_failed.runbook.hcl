variable "bmc_password" {
  type      = string
  sensitive = true
  default   = "this-password-is-far-too-long"
  validation {
    condition     = length(var.bmc_password) <= 16 # ERROR: Invalid value for variable "bmc_password"
    error_message = "BMC passwords are at most 16 characters."
  }
}
