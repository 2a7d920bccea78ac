step "rotate_action" "eventhub" {
  product_id = "microsoft.eventhub"
  depends_on = [step.eventhub_crt] # ERROR: Reference to undeclared step
}
step "product_secret" "eventhub_cert" {
  secret_name = "x"
}
