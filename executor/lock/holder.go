package lock

import (
	"os"
	"os/user"
	"time"
)

// Equal reports whether h and o name the same holder.
func (h Holder) Equal(o Holder) bool {
	return h.PID == o.PID && h.Host == o.Host && h.User == o.User && h.Run == o.Run && h.Started.Equal(o.Started)
}

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
