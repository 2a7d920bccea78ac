variable "x" { # ERROR: Null value for non-nullable variable
  type     = string
  nullable = false
  default  = null
}
