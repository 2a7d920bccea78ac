variable "pfx_password" {
  type      = string
  sensitive = true
  default   = "12345678"
}
locals {
  p = var.pfx_pasword # ERROR: Reference to undeclared variable
}
