// Package state owns what runbook remembers between runs of a runbook:
// what each step last did, reduced from the run journals (history.go).
//
// The journals themselves are written and replayed by executor/journal;
// this package reads them as a whole and answers the questions a plan
// asks: what did this step's last successful apply report, and did the last
// run leave it running?
package state
