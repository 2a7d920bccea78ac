window "w" {
  start    = "2026-11-28T22:00:00Z"
  every    = "saturday 22:00" # ERROR: Conflicting window arguments
  duration = "8h"
}
