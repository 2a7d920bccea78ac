package pep

import (
	"fmt"
	"strings"

	"github.com/runbook-dev/runbook/pep/psrp"
)

// A Test-AzureStack category: its argument name and the display name the
// console shows (Validate Azure Stack Hub system state, the category
// table).
type azsTest struct {
	Name, Display string
}

// azsTests are the categories the simulated stamp knows, in the console's
// order. AzsExternalCertificates is absent from the 2020 table but used
// after rotation by the 2022 rotation article.
var azsTests = []azsTest{
	{"AzsAcsSummary", "Azure Stack Hub ACS Summary"},
	{"AzsActionPlanStatus", "Azure Stack Hub Action Plan Status"},
	{"AzsDefenderSummary", "Azure Stack Hub Defender Summary"},
	{"AzsExternalCertificates", "Azure Stack Hub External Certificates"},
	{"AzsHostingInfraSummary", "Azure Stack Hub Hosting Infrastructure Summary"},
	{"AzsInfraCapacity", "Azure Stack Hub Infrastructure Capacity"},
	{"AzsInfraFileValidation", "Azure Stack Hub Infrastructure File Validation"},
	{"AzsInfraRoleSummary", "Azure Stack Hub Infrastructure Role Summary"},
	{"AzsPortalAPISummary", "Azure Stack Hub Portal and API Summary"},
	{"AzsSFRoleSummary", "Azure Stack Hub Service Fabric Role Summary"},
	{"AzsStampBMCSummary", "Azure Stack Hub BMC Summary"},
	{"AzsStorageSvcsSummary", "Azure Stack Hub Storage Services Summary"},
	{"AzsStoreSummary", "Azure Stack Hub Store Summary"},
}

// azsGroups are the documented groups (Default runs every category but the
// readiness-only ones).
var azsGroups = map[string][]string{
	"SecretRotationReadiness": {"AzsAcsSummary", "AzsDefenderSummary", "AzsHostingInfraSummary", "AzsInfraCapacity",
		"AzsInfraRoleSummary", "AzsPortalAPISummary", "AzsSFRoleSummary", "AzsStorageSvcsSummary", "AzsStoreSummary"},
	"UpdateReadiness": {"AzsInfraFileValidation", "AzsActionPlanStatus", "AzsStampBMCSummary"},
	"Default": {"AzsAcsSummary", "AzsDefenderSummary", "AzsHostingInfraSummary", "AzsInfraCapacity", "AzsInfraRoleSummary",
		"AzsPortalAPISummary", "AzsSFRoleSummary", "AzsStorageSvcsSummary", "AzsStoreSummary", "AzsStampBMCSummary"},
}

// testAzureStack serves Test-AzureStack: -List names the categories;
// -Include picks categories, -Group a group (default "Default"), -Ignore
// drops some. Each category prints "Test-AzureStack : <display name> …
// PASS|WARN|FAIL" (the console layout is not published; this one is the
// simulator's), warns for a WARN, writes a non-terminating error for a
// FAIL, and returns $true when all passed, or with -DetailedResults one
// object per category and one for the run.
func testAzureStack(c *call) error {
	if list, _ := c.args["List"].(bool); list {
		for _, t := range azsTests {
			c.output(t.Name)
		}
		return nil
	}
	var names []string
	if inc, _ := c.args["Include"].([]string); len(inc) > 0 {
		for _, n := range inc {
			t := findTest(n)
			if t == nil {
				return fail(psrp.ErrorRecord{
					Message:               fmt.Sprintf("Cannot validate argument on parameter 'Include'. The argument %q does not belong to the set of test categories. Run Test-AzureStack -List to see them.", n),
					FullyQualifiedErrorId: "ParameterArgumentValidationError,Test-AzureStack",
					Category:              psrp.InvalidData,
					Activity:              c.cmd.name,
					Reason:                "ParameterBindingValidationException",
					ExceptionType:         "System.Management.Automation.ParameterBindingValidationException",
				})
			}
			names = append(names, t.Name)
		}
	} else {
		group, _ := c.args["Group"].(string)
		if group == "" {
			group = "Default"
		}
		var ok bool
		for g, list := range azsGroups {
			if strings.EqualFold(g, group) {
				names, ok = list, true
			}
		}
		if !ok {
			return fail(psrp.ErrorRecord{
				Message:               fmt.Sprintf("Cannot validate argument on parameter 'Group'. The argument %q does not belong to the set \"Default,UpdateReadiness,SecretRotationReadiness\".", group),
				FullyQualifiedErrorId: "ParameterArgumentValidationError,Test-AzureStack",
				Category:              psrp.InvalidData,
				Activity:              c.cmd.name,
				Reason:                "ParameterBindingValidationException",
				ExceptionType:         "System.Management.Automation.ParameterBindingValidationException",
			})
		}
	}
	ignore, _ := c.args["Ignore"].([]string)
	detailed, _ := c.args["DetailedResults"].(bool)
	overall := "PASS"
	var details []any
	for _, n := range names {
		if matchesAny(n, ignore) {
			continue
		}
		t := findTest(n)
		if err := c.sleep(c.p.cfg.TestTime); err != nil {
			return err
		}
		result, msg := c.p.testResult(t.Name)
		c.info(fmt.Sprintf("Test-AzureStack : %s ... %s", t.Display, result))
		switch result {
		case "WARN":
			c.warn(fmt.Sprintf("%s: %s", t.Display, msg))
			if overall == "PASS" {
				overall = "WARN"
			}
		case "FAIL":
			c.writeError(psrp.ErrorRecord{
				Message:               fmt.Sprintf("%s: %s", t.Display, msg),
				FullyQualifiedErrorId: "TestFailed," + t.Name,
				Category:              psrp.ErrorCategory(8), // InvalidResult
				Activity:              c.cmd.name,
				Reason:                "TestFailedException",
				ExceptionType:         "System.Exception",
			})
			overall = "FAIL"
		}
		details = append(details, testObject(t.Name, t.Display, result, msg))
	}
	if !detailed {
		c.output(overall == "PASS")
		return nil
	}
	for _, d := range details {
		c.output(d)
	}
	c.output(testObject("Overall", "Test-AzureStack", overall, ""))
	return nil
}

func testObject(name, display, result, msg string) *psrp.Object {
	var m any
	if msg != "" {
		m = msg
	}
	return &psrp.Object{
		TypeNames: []string{"Deserialized.System.Management.Automation.PSCustomObject", "Deserialized.System.Object"},
		Members: []psrp.Property{
			{Name: "TestName", Value: name},
			{Name: "DisplayName", Value: display},
			{Name: "Result", Value: result},
			{Name: "Message", Value: m},
		},
	}
}

func findTest(name string) *azsTest {
	for i := range azsTests {
		if strings.EqualFold(azsTests[i].Name, name) {
			return &azsTests[i]
		}
	}
	return nil
}

// warn writes a warning record, as Write-Warning does.
func (c *call) warn(msg string) {
	c.emit(psrp.MsgWarningRecord, psrp.InformationalRecordObject("System.Management.Automation.WarningRecord", msg))
}
