step "rotate_action" "x" {
  product_id = "microsoft.eventhub"
  timeout    = "six hours" # ERROR: Invalid duration
}
