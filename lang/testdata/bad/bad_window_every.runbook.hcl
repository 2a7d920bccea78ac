window "weekly" {
  every    = "saturdy 22:00" # ERROR: Invalid window recurrence
  duration = "8h"
}
