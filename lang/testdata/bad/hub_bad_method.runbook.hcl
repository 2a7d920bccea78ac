hub "east" {
  endpoint = "https://adminmanagement.east.contoso.com"
  auth {
    method = "client_secrett" # ERROR: Unknown sign-in method
  }
}
