step "rotate_action" "eventhub" {
  product_id = "microsoft.eventhub"
}
step "rotate_action" "eventhub" { # ERROR: Duplicate step
  product_id = "microsoft.eventhub"
}
