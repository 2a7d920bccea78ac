variable "days" {
  type    = number
  default = "soon" # ERROR: Invalid default value for variable
}
