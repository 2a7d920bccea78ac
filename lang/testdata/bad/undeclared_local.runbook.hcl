locals {
  region = "local"
}
step "rotate_action" "x" {
  product_id = "microsoft.${local.regoin}" # ERROR: Reference to undeclared local value
}
