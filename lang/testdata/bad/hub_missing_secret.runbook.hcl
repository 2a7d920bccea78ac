hub "east" {
  endpoint = "https://adminmanagement.east.contoso.com"
  auth { # ERROR: Missing required argument
    method    = "client_secret"
    client_id = "x"
  }
}
