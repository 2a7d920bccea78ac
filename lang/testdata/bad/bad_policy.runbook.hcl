policy "p" { # ERROR: Missing required argument
  condition = true
}
