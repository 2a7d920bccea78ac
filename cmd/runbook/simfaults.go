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
		target, kind, kv, err := splitSimFault(item)
		if err != nil {
			return nil, nil, nil, err
		}
		switch target {
		case "hub":
			f, err := simHubFault(kind, kv)
			if err != nil {
				return nil, nil, nil, err
			}
			hubFaults = append(hubFaults, f)
		case "pep":
			in, hook, err := simPEPFault(item, kind, kv)
			if err != nil {
				return nil, nil, nil, err
			}
			if hook != nil {
				pepHooks = append(pepHooks, hook)
				continue
			}
			pepFaults = append(pepFaults, in)
		default:
			return nil, nil, nil, fmt.Errorf("RUNBOOK_SIM_FAULTS: unknown target %q (hub or pep)", target)
		}
	}
	return hubFaults, pepFaults, pepHooks, nil
}

// faultParams are a fault's key=value settings.
type faultParams map[string]string

func (kv faultParams) num(k string) int { n, _ := strconv.Atoi(kv[k]); return n }

func (kv faultParams) dur(k string) time.Duration { d, _ := time.ParseDuration(kv[k]); return d }

// splitSimFault splits one TARGET:KIND[:key=value...] item.
func splitSimFault(item string) (target, kind string, kv faultParams, err error) {
	parts := strings.Split(item, ":")
	if len(parts) < 2 {
		return "", "", nil, fmt.Errorf("RUNBOOK_SIM_FAULTS: %q: want TARGET:KIND[:key=value...]", item)
	}
	kv = faultParams{}
	for _, p := range parts[2:] {
		k, v, ok := strings.Cut(p, "=")
		if !ok {
			return "", "", nil, fmt.Errorf("RUNBOOK_SIM_FAULTS: %q: %q is not key=value", item, p)
		}
		kv[k] = v
	}
	return parts[0], parts[1], kv, nil
}

// simHubFaultKinds maps the hub fault names to the simulated Hub's kinds.
var simHubFaultKinds = map[string]simhub.FaultKind{
	"latency":       simhub.FaultLatency,
	"throttle":      simhub.FaultThrottle,
	"500":           simhub.FaultServerError,
	"reset":         simhub.FaultConnectionReset,
	"drop-reply":    simhub.FaultDropReply,
	"expire-tokens": simhub.FaultExpireTokens,
	"vanish":        simhub.FaultVanishOperation,
	"fail-rotation": simhub.FaultFailRotation,
}

// simHubFault is the simulated Hub's fault of the given kind.
func simHubFault(kind string, kv faultParams) (simhub.Fault, error) {
	k, ok := simHubFaultKinds[kind]
	if !ok {
		return simhub.Fault{}, fmt.Errorf("RUNBOOK_SIM_FAULTS: unknown hub fault %q", kind)
	}
	f := simhub.Fault{Kind: k, Method: kv["method"], Path: kv["path"], Skip: kv.num("skip"), Times: kv.num("times"),
		Delay: kv.dur("delay"), RetryAfter: kv.dur("retry_after"), Product: kv["product"]}
	if k == simhub.FaultFailRotation {
		f.AtPercent, _ = strconv.ParseFloat(kv["at"], 64)
	}
	return f, nil
}

// simPEPFault is the PEP's fault of the given kind: a WS-Management
// injection, or a hook that sets up the simulated PEP itself.
func simPEPFault(item, kind string, kv faultParams) (simwsman.Injection, func(*simStamp), error) {
	in := simwsman.Injection{Action: kv["action"], Times: kv.num("times"), Delay: kv.dur("delay"), Status: kv.num("status")}
	switch kind {
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
		return in, func(s *simStamp) { s.pep.RejectNextBMCPassword(node, "the BMC refused the password") }, nil
	case "fail-rotation":
		return in, func(s *simStamp) { s.pep.FailNextRotations(1) }, nil
	case "readiness":
		test, result := kv["test"], kv["result"]
		if test == "" || result == "" {
			return in, nil, fmt.Errorf("RUNBOOK_SIM_FAULTS: %q: give test=NAME and result=WARN or FAIL", item)
		}
		return in, func(s *simStamp) {
			s.pep.SetTestResult(test, result, "the simulated stamp reports "+strings.ToLower(result)+" for this test")
		}, nil
	default:
		return in, nil, fmt.Errorf("RUNBOOK_SIM_FAULTS: unknown pep fault %q", kind)
	}
	return in, nil, nil
}
