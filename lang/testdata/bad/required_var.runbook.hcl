variable "client_secret" { # ERROR: No value for required variable
  type      = string
  sensitive = true
}
