package steps

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/runbook-dev/runbook/pep"
)

// Test-AzureStack groups and categories runbook names.
const (
	// GroupSecretRotationReadiness is what Microsoft says to run before
	// Start-SecretRotation; its warnings are blockers.
	GroupSecretRotationReadiness = "SecretRotationReadiness"
	// TestExternalCertificates verifies the endpoints' certificates after
	// an external rotation.
	TestExternalCertificates = "AzsExternalCertificates"
)

// testOutcome is one Test-AzureStack category's result.
type testOutcome struct {
	Name    string // the category's argument name, or its display name when only that is known
	Result  string // PASS, WARN or FAIL (upper case)
	Message string
}

func (o testOutcome) String() string {
	s := o.Name + " " + o.Result
	if o.Message != "" {
		s += " (" + o.Message + ")"
	}
	return s
}

// azsDisplayNames maps the console's display names to the category names
// (Validate Azure Stack Hub system state: "display names map 1:1 to the
// argument names").
var azsDisplayNames = map[string]string{
	"azure stack hub acs summary":                    "AzsAcsSummary",
	"azure stack hub action plan status":             "AzsActionPlanStatus",
	"azure stack hub defender summary":               "AzsDefenderSummary",
	"azure stack hub external certificates":          "AzsExternalCertificates",
	"azure stack hub hosting infrastructure summary": "AzsHostingInfraSummary",
	"azure stack hub infrastructure capacity":        "AzsInfraCapacity",
	"azure stack hub infrastructure file validation": "AzsInfraFileValidation",
	"azure stack hub infrastructure role summary":    "AzsInfraRoleSummary",
	"azure stack hub portal and api summary":         "AzsPortalAPISummary",
	"azure stack hub service fabric role summary":    "AzsSFRoleSummary",
	"azure stack hub bmc summary":                    "AzsStampBMCSummary",
	"azure stack hub storage services summary":       "AzsStorageSvcsSummary",
	"azure stack hub store summary":                  "AzsStoreSummary",
}

// consoleLine is the simulator's console layout of a result; the real one
// is not published, so anything ending in PASS, WARN or FAIL after a
// "Test-AzureStack :" prefix is read.
var consoleLine = regexp.MustCompile(`(?i)^\s*Test-AzureStack\s*:\s*(.+?)[\s.]*\b(PASS|WARN|FAIL)\s*$`)

// runTestAzureStack runs Test-AzureStack -DetailedResults with -Group group
// or -Include include, and returns every category's outcome. It reads, in
// order of preference, the detailed objects (any object with a result
// property and a name), the console lines, and the warnings and errors;
// a bare $false with nothing else is one FAIL. The shape of the detailed
// results is not documented, so none of these is required.
func runTestAzureStack(ctx context.Context, s pep.Session, group string, include []string) ([]testOutcome, error) {
	params := []pep.Param{{Name: "DetailedResults", Value: true}}
	if len(include) > 0 {
		params = append(params, pep.Param{Name: "Include", Value: include})
	} else {
		params = append(params, pep.Param{Name: "Group", Value: group})
	}
	res, err := s.Invoke(ctx, pep.Call{Cmdlet: "Test-AzureStack", Params: params})
	if err != nil {
		return nil, err
	}
	byName := map[string]*testOutcome{}
	var order []string
	put := func(name, result, msg string) {
		name = strings.TrimSpace(name)
		if n, ok := azsDisplayNames[strings.ToLower(name)]; ok {
			name = n
		}
		result = strings.ToUpper(strings.TrimSpace(result))
		switch result {
		case "PASS", "WARN", "FAIL":
		case "PASSED", "SUCCESS", "SUCCEEDED", "TRUE":
			result = "PASS"
		case "WARNING":
			result = "WARN"
		default:
			result = "FAIL"
		}
		if o, ok := byName[strings.ToLower(name)]; ok {
			if o.Message == "" {
				o.Message = msg
			}
			return
		}
		byName[strings.ToLower(name)] = &testOutcome{Name: name, Result: result, Message: msg}
		order = append(order, strings.ToLower(name))
	}
	overall := ""
	for _, o := range res.Objects() {
		switch v := o.(type) {
		case map[string]any:
			name := firstString(v, "TestName", "Name", "Test", "DisplayName")
			result := firstString(v, "Result", "Status", "Outcome")
			if name == "" || result == "" {
				continue
			}
			if strings.EqualFold(name, "Overall") {
				overall = strings.ToUpper(result)
				continue
			}
			put(name, result, firstString(v, "Message", "Description", "Details"))
		case bool:
			if v {
				overall = "PASS"
			} else {
				overall = "FAIL"
			}
		}
	}
	for _, line := range res.Information {
		if m := consoleLine.FindStringSubmatch(line); m != nil {
			put(m[1], m[2], "")
		}
	}
	for _, w := range res.Warnings {
		if name, msg, ok := strings.Cut(w, ": "); ok {
			if o, found := byName[strings.ToLower(displayToName(name))]; found && o.Message == "" {
				o.Message = msg
			}
		}
	}
	for _, e := range res.Errors {
		if name, msg, ok := strings.Cut(e.Message, ": "); ok {
			if o, found := byName[strings.ToLower(displayToName(name))]; found {
				if o.Message == "" {
					o.Message = msg
				}
				continue
			}
		}
		put("Test-AzureStack error", "FAIL", e.Message)
	}
	out := make([]testOutcome, 0, len(order))
	for _, k := range order {
		out = append(out, *byName[k])
	}
	if len(out) == 0 && overall != "PASS" {
		out = append(out, testOutcome{Name: "Test-AzureStack", Result: "FAIL", Message: "it reported failure without naming a test"})
	}
	return out, nil
}

func displayToName(s string) string {
	if n, ok := azsDisplayNames[strings.ToLower(strings.TrimSpace(s))]; ok {
		return n
	}
	return strings.TrimSpace(s)
}

func firstString(m map[string]any, keys ...string) string {
	for _, k := range keys {
		for mk, v := range m {
			if strings.EqualFold(mk, k) {
				if s, ok := v.(string); ok && s != "" {
					return s
				}
			}
		}
	}
	return ""
}

// blocking returns the outcomes that are not PASS: for the readiness
// groups, "warnings are displayed as errors … and they should be
// considered as blockers".
func blocking(outcomes []testOutcome) []testOutcome {
	var out []testOutcome
	for _, o := range outcomes {
		if o.Result != "PASS" {
			out = append(out, o)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// describeBlocking is a sentence naming each blocking test.
func describeBlocking(bad []testOutcome) string {
	parts := make([]string, len(bad))
	for i, o := range bad {
		parts[i] = o.String()
	}
	return fmt.Sprintf("%d test(s) did not pass: %s", len(bad), strings.Join(parts, "; "))
}
