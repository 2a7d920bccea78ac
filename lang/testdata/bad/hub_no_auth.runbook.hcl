hub "east" { # ERROR: Missing auth block
  endpoint = "https://adminmanagement.east.contoso.com"
}
