hub "east" { # ERROR: Missing required argument
  ca_flie = "certs/root-ca.pem" # ERROR: Unsupported argument
  auth {
    method  = "azure_cli"
    tennant = "adfs" # ERROR: Unsupported argument
  }
}

pep "east" { # ERROR: Missing required argument
  addresses = ["10.0.0.224"]
  password  = sensitive("x")
  adress    = "10.0.0.225" # ERROR: Unsupported argument
  port      = 70000 # ERROR: Invalid port
}

window "saturday" {
  every    = "saturday 22:00"
  duration = "8h"
  timezon  = "UTC" # ERROR: Unsupported argument
}
