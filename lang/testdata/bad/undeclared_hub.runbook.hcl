step "rotate_action" "x" {
  hub        = hub.east # ERROR: Reference to undeclared hub
  product_id = "microsoft.eventhub"
}
