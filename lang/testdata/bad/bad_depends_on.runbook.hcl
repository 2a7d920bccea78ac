step "rotate_action" "a" {
  product_id = "p"
  depends_on = ["step.b"] # ERROR: Invalid depends_on reference
}
step "rotate_action" "b" {
  product_id = "p"
}
