// Package clock is runbook's time seam.
//
// Nothing in lang, executor, the step types, the clients or the simulators
// calls time.Now, time.Sleep, time.After or time.NewTimer directly: they take
// a Clock. Production code passes Real; tests pass a *Fake and move time by
// hand (Advance, AdvanceTo, BlockUntil), so a four-hour rotation runs in
// milliseconds; the simulated stamp (-simulate) uses a Scaled clock, on which
// virtual time runs many times faster than the wall clock.
//
// The fake is modelled on tailscale's tstest.Clock and jonboulle's clockwork:
// timers are kept in a heap and fire in order of their deadlines when time is
// advanced past them.
package clock
