package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	simhub "github.com/runbook-dev/runbook/sim/hub"
	simwsman "github.com/runbook-dev/runbook/sim/wsman"
)

// RUNBOOK_SIM_FAULTS injects faults into the simulated stamp of -simulate,
// to rehearse what a real stamp may do. It is a list separated by ";" of
// TARGET:KIND[:key=value...]:
//
//	hub:latency:delay=2s            every matching request is slow
//	hub:throttle:times=3            429 with Retry-After (retry_after=10s)
//	hub:500:times=5                 500 storm
//	hub:reset:path=rotateSecrets    connection reset
//	hub:drop-reply:path=rotateSecrets  served, but the reply is lost
//	hub:expire-tokens:skip=20       every token expires after 20 requests
//	hub:vanish                      the async operation disappears (404)
//	hub:fail-rotation:at=60         the next rotation fails at 60%
//	pep:drop:action=Command         the connection drops mid-command
//	pep:drop-reply:action=Receive   the request is served, the reply lost
//	pep:status:status=401           an HTTP status instead of a reply
//	pep:delay:delay=5m              slow replies (on the stamp's clock)
//	pep:bmc-reject:node=NODE        a BMC refuses the next password
//	pep:fail-rotation               the next Start-SecretRotation fails
//	pep:readiness:test=NAME:result=WARN  Test-AzureStack category NAME warns (or FAIL)
//
// Common keys: times (0 = once, -1 = always), path or action (which
// requests), skip (let this many through first), product.
func parseSimFaults(spec string) (hubFaults []simhub.Fault, pepFaults []simwsman.Injection, pepHooks []func(*simStamp), err error) {
	for _, item := range strings.Split(spec, ";") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		parts := strings.Split(item, ":")
		if len(parts) < 2 {
			return nil, nil, nil, fmt.Errorf("RUNBOOK_SIM_FAULTS: %q: want TARGET:KIND[:key=value...]", item)
		}
		kv := map[string]string{}
		for _, p := range parts[2:] {
			k, v, ok := strings.Cut(p, "=")
			if !ok {
				return nil, nil, nil, fmt.Errorf("RUNBOOK_SIM_FAULTS: %q: %q is not key=value", item, p)
			}
			kv[k] = v
		}
		num := func(k string) int { n, _ := strconv.Atoi(kv[k]); return n }
		dur := func(k string) time.Duration { d, _ := time.ParseDuration(kv[k]); return d }
		switch parts[0] {
		case "hub":
			f := simhub.Fault{Method: kv["method"], Path: kv["path"], Skip: num("skip"), Times: num("times"),
				Delay: dur("delay"), RetryAfter: dur("retry_after"), Product: kv["product"]}
			switch parts[1] {
			case "latency":
				f.Kind = simhub.FaultLatency
			case "throttle":
				f.Kind = simhub.FaultThrottle
			case "500":
				f.Kind = simhub.FaultServerError
			case "reset":
				f.Kind = simhub.FaultConnectionReset
			case "drop-reply":
				f.Kind = simhub.FaultDropReply
			case "expire-tokens":
				f.Kind = simhub.FaultExpireTokens
			case "vanish":
				f.Kind = simhub.FaultVanishOperation
			case "fail-rotation":
				f.Kind = simhub.FaultFailRotation
				f.AtPercent, _ = strconv.ParseFloat(kv["at"], 64)
			default:
				return nil, nil, nil, fmt.Errorf("RUNBOOK_SIM_FAULTS: unknown hub fault %q", parts[1])
			}
			hubFaults = append(hubFaults, f)
		case "pep":
			in := simwsman.Injection{Action: kv["action"], Times: num("times"), Delay: dur("delay"), Status: num("status")}
			switch parts[1] {
			case "drop":
				in.Kind = simwsman.InjectDrop
			case "drop-reply":
				in.Kind = simwsman.InjectDropReply
			case "status":
				in.Kind = simwsman.InjectStatus
			case "delay":
				in.Kind = simwsman.InjectDelay
			case "bmc-reject":
				node := kv["node"]
				pepHooks = append(pepHooks, func(s *simStamp) { s.pep.RejectNextBMCPassword(node, "the BMC refused the password") })
				continue
			case "fail-rotation":
				pepHooks = append(pepHooks, func(s *simStamp) { s.pep.FailNextRotations(1) })
				continue
			case "readiness":
				test, result := kv["test"], kv["result"]
				if test == "" || result == "" {
					return nil, nil, nil, fmt.Errorf("RUNBOOK_SIM_FAULTS: %q: give test=NAME and result=WARN or FAIL", item)
				}
				pepHooks = append(pepHooks, func(s *simStamp) {
					s.pep.SetTestResult(test, result, "the simulated stamp reports "+strings.ToLower(result)+" for this test")
				})
				continue
			default:
				return nil, nil, nil, fmt.Errorf("RUNBOOK_SIM_FAULTS: unknown pep fault %q", parts[1])
			}
			pepFaults = append(pepFaults, in)
		default:
			return nil, nil, nil, fmt.Errorf("RUNBOOK_SIM_FAULTS: unknown target %q (hub or pep)", parts[0])
		}
	}
	return hubFaults, pepFaults, pepHooks, nil
}
