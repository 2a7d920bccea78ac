step "rotate_action" "a" {
  product_id = "p" "q" # ERROR: Missing newline after argument
}
