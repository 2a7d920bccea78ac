variable "days" {
  type = nubmer # ERROR: Invalid type specification
}
