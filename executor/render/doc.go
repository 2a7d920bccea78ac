// Package render prints plans: human text in Terraform's style, JSON (the
// plan's versioned JSON form) and Markdown for pull-request comments.
//
// Renderers are pure functions of a plan.Plan: they read nothing else, know
// no clock, and decide nothing about colour themselves (the caller says).
// Sensitive values print as "(sensitive value)" in every format, whatever
// their position; values known only after apply print as
// "(known after apply)".
package render
