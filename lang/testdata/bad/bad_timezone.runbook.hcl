window "weekly" {
  every    = "saturday 22:00"
  timezone = "Mars/Olympus" # ERROR: Unknown time zone
  duration = "8h"
}
