variable "a" {
  default = "x"
}
locals {
  b = vars.a # ERROR: Unknown reference
}
