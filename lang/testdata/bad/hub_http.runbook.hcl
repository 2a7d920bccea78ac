hub "east" {
  endpoint = "http://adminmanagement.east.contoso.com" # ERROR: Invalid hub endpoint
  auth {
    method = "azure_cli"
  }
}
