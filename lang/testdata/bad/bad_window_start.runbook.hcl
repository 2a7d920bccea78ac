window "saturday" {
  start    = "2026-11-28 22:00" # ERROR: Invalid window start
  duration = "8h"
}
