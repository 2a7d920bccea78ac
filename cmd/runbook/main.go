// Command runbook rotates the secrets of Microsoft Azure Stack Hub from
// declarative HCL runbooks.
//
// main only wires the process (arguments, standard streams, environment,
// signals and the exit code) to run; each subcommand lives in a file of its
// own with its own flag set.
package main

import (
	"os"
	_ "time/tzdata" // window time zones must resolve on Windows too
)

func main() {
	os.Exit(run(newEnv()))
}
