variable "x" {
  default = 1
}
variable "x" { # ERROR: Duplicate variable
  default = 2
}
