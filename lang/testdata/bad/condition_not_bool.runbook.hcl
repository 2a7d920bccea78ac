variable "days" {
  type    = number
  default = 30
}

policy "string" {
  condition     = "yes" # ERROR: Invalid condition result
  error_message = "A policy is true or false."
}

policy "null" {
  condition     = null # ERROR: Invalid condition result
  error_message = "A policy is true or false."
}

policy "deferred" {
  condition     = step.a.status == "Deployed"
  error_message = "Known only at plan time: not checked at load."
}

policy "false_is_for_plan" {
  condition     = var.days > 60
  error_message = "Whether a policy holds is the plan's business, not the loader's."
}

step "rotate_action" "a" {
  product_id = "microsoft.eventhub"
  precondition {
    condition     = var.days # ERROR: Invalid condition result
    error_message = "A number is not a condition."
  }
  postcondition {
    condition     = [self.status] # ERROR: Invalid condition result
    error_message = "Nor is a list, even of unknown values."
  }
  postcondition {
    condition     = self.status == "SecretRotationSucceeded"
    error_message = "Unknown until apply: not checked at load."
  }
}
