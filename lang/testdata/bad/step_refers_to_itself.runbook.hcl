step "rotate_action" "eventhub" {
  product_id = "microsoft.eventhub"
  force      = step.eventhub.status != "SecretRotationSucceeded" # ERROR: Step refers to itself
  precondition {
    condition     = step.eventhub.status == "DeploymentSucceeded" # ERROR: Step refers to itself
    error_message = "The deployment must be healthy."
  }
  postcondition {
    condition     = self.status == "SecretRotationSucceeded"
    error_message = "A postcondition checks the step's own outputs as self."
  }
}
