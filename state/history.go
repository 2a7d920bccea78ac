package state

import (
	"sort"
	"time"

	"github.com/runbook-dev/runbook/addrs"
	"github.com/runbook-dev/runbook/executor/journal"
)

// History is what the journals recorded about one step.
type History struct {
	// LastSuccess is the Result of the last successful apply of the step
	// (the keys its step type declared), or nil.
	LastSuccess map[string]string
	// LastSuccessAt is when it finished.
	LastSuccessAt time.Time
	// InFlight is set when the last run did not finish and left this step
	// running (its intent journalled, no result): an apply will resume
	// that run and re-attach to the step rather than start it again.
	InFlight bool
	// Handle is the remote handle the in-flight step journalled, if any.
	Handle string
}

// Histories is the history of every step the journals mention.
type Histories map[addrs.Step]*History

// Of returns the history of step addr, or nil when no journal mentions it.
func (h Histories) Of(addr addrs.Step) *History { return h[addr] }

// legacyFingerprintKey is the Result key under which journals written
// before whole results were kept stored their only fact.
const legacyFingerprintKey = "fingerprint"

// BuildHistory reduces the journals of a runbook to each step's history.
// runs are the journals' summaries; load replays one (the caller may cache
// it). A journal that cannot be replayed proves nothing and is passed over,
// and a journal without a successful step is not replayed at all.
//
// The last success of a step is the latest by time over every run, since
// runs may overlap when resumed. Only the run that started last can leave a
// step in flight: an older unfinished run has been superseded by a newer
// one.
func BuildHistory(runs []journal.RunSummary, load func(path string) (*journal.Run, error)) Histories {
	runs = append([]journal.RunSummary(nil), runs...)
	sort.SliceStable(runs, func(i, j int) bool { return runs[i].Started.Before(runs[j].Started) })
	h := Histories{}
	for _, r := range runs {
		if r.Steps.Succeeded == 0 {
			continue
		}
		run, err := load(r.Path)
		if err != nil {
			continue
		}
		for addr, st := range run.Steps {
			h.addSuccess(addr, st)
		}
	}
	if n := len(runs); n > 0 && (runs[n-1].Status == journal.RunUnfinished || runs[n-1].Status == journal.RunStopped) {
		if run, err := load(runs[n-1].Path); err == nil {
			for addr, st := range run.Steps {
				h.addInFlight(addr, st)
			}
		}
	}
	return h
}

// addSuccess records st if it is a success later than the one known.
func (h Histories) addSuccess(addr string, st *journal.Step) {
	if st.InFlight || st.Status != journal.Succeeded {
		return
	}
	a, err := addrs.ParseStep(addr)
	if err != nil {
		return // not a step this version knows how to address
	}
	if cur := h[a]; cur != nil && !st.Updated.After(cur.LastSuccessAt) {
		return
	}
	cur := h[a]
	if cur == nil {
		cur = &History{}
		h[a] = cur
	}
	cur.LastSuccess, cur.LastSuccessAt = result(st), st.Updated
}

// addInFlight marks the step of st as left running by the last run.
func (h Histories) addInFlight(addr string, st *journal.Step) {
	if !st.InFlight {
		return
	}
	a, err := addrs.ParseStep(addr)
	if err != nil {
		return
	}
	cur := h[a]
	if cur == nil {
		cur = &History{}
		h[a] = cur
	}
	cur.InFlight, cur.Handle = true, st.Handle
}

// result returns the journalled result of a successful step: the whole
// Result, or for older journals the one fingerprint they kept.
func result(st *journal.Step) map[string]string {
	if st.Result != nil {
		return st.Result
	}
	if st.Fingerprint != "" {
		return map[string]string{legacyFingerprintKey: st.Fingerprint}
	}
	return map[string]string{}
}
