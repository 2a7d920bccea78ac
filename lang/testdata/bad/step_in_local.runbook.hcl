locals {
  x = step.a.certificate # ERROR: Invalid reference to a step
}
step "rotate_action" "a" {
  product_id = "p"
}
