pep "east" {
  addresses = [] # ERROR: No PEP addresses
  username  = "AZURESTACK\\CloudAdmin"
  password  = sensitive("x")
}
