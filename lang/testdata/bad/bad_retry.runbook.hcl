step "rotate_action" "a" {
  product_id = "p"
  retry {
    attempts = 3
    backoff  = "exponentail" # ERROR: Unknown backoff
  }
}
