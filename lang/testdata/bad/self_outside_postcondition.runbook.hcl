step "rotate_action" "a" {
  product_id = self.x # ERROR: Invalid reference to self
}
