step "rotate_action" "9lives" { # ERROR: Invalid step name
  product_id = "p"
}
