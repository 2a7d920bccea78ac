package lock

import (
	"os"
	"os/user"
	"time"
)

// CurrentProcess returns the Holder for this process, started at start
// (from the caller's clock), for run id run.
func CurrentProcess(start time.Time, run string) Holder {
	h := Holder{PID: os.Getpid(), Started: start.UTC(), Run: run}
	h.Host, _ = os.Hostname()
	if u, err := user.Current(); err == nil {
		h.User = u.Username
	} else if name := os.Getenv("USER"); name != "" {
		h.User = name
	} else {
		h.User = os.Getenv("USERNAME")
	}
	return h
}
