step "product_secrets" "cert" { # ERROR: Unknown step type
  secret_name = "x"
}
