step "bmc_password" "bmc" {
  pep      = pep.east # ERROR: Reference to undeclared pep
  password = "x"
}
