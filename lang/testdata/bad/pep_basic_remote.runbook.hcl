pep "east" {
  addresses = ["10.0.0.224"]
  username  = "AZURESTACK\\CloudAdmin"
  password  = sensitive("x")
  auth      = "basic" # ERROR: Basic authentication is for loopback only
}
