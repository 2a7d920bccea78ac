package pep

import (
	"fmt"
	"strings"

	"github.com/runbook-dev/runbook/pep/psrp"
)

// startSecretRotation serves Start-SecretRotation: external certificates
// (-PfxFilesPath, -PathAccessCredential and -CertificatePassword together,
// the default) or internal secrets (-Internal alone, since 1811), and -ReRun
// after a failed run of the same kind. It runs RotationTime on the clock in
// four steps and ends with the two lines Microsoft's documentation shows.
func startSecretRotation(c *call) error {
	internal, _ := c.args["Internal"].(bool)
	rerun, _ := c.args["ReRun"].(bool)
	_, hasPath := c.args["PfxFilesPath"]
	_, hasCred := c.args["PathAccessCredential"]
	_, hasPw := c.args["CertificatePassword"]
	if internal && (hasPath || hasCred || hasPw) {
		return fail(psrp.ErrorRecord{
			Message:               "Parameter set cannot be resolved using the specified named parameters.",
			FullyQualifiedErrorId: "AmbiguousParameterSet,Start-SecretRotation",
			Category:              psrp.InvalidArgument,
			Activity:              c.cmd.name,
			Reason:                "ParameterBindingException",
			ExceptionType:         "System.Management.Automation.ParameterBindingException",
		})
	}
	kind := "External"
	if internal {
		kind = "Internal"
	}
	if rerun {
		if last := c.p.lastAction(c.cmd.name, kind); last == nil || last.Status != "Failed" {
			return fail(psrp.ErrorRecord{
				Message:               fmt.Sprintf("There is no failed %s secret rotation to rerun.", strings.ToLower(kind)),
				FullyQualifiedErrorId: "NoFailedRotationToRerun,Start-SecretRotation",
				Category:              psrp.InvalidOperation,
				Activity:              c.cmd.name,
				Reason:                "InvalidOperationException",
				ExceptionType:         "System.InvalidOperationException",
			})
		}
	} else if !internal {
		var missing []string
		for _, n := range []string{"PfxFilesPath", "PathAccessCredential", "CertificatePassword"} {
			if _, ok := c.args[n]; !ok {
				missing = append(missing, n)
			}
		}
		if len(missing) > 0 {
			return fail(*bindError(c.cmd.name, "MissingMandatoryParameter",
				"Cannot process command because of one or more missing mandatory parameters: "+strings.Join(missing, " ")+"."))
		}
		if p, _ := c.args["PfxFilesPath"].(string); !isUNC(p) {
			// What Test-Certificate reports for a share it cannot use
			// (documented for a bad share layout).
			return fail(psrp.ErrorRecord{
				Message:               "Cannot bind argument to parameter 'Path' because it is null.",
				FullyQualifiedErrorId: "ParameterArgumentValidationErrorNullNotAllowed,Test-Certificate",
				Category:              psrp.InvalidData,
				Activity:              "Test-Certificate",
				Reason:                "ParameterBindingValidationException",
				ExceptionType:         "System.Management.Automation.ParameterBindingException",
			})
		}
	}

	if err := c.p.stage(c, internal, rerun); err != nil {
		return err
	}
	id := c.p.startAction(c.cmd.name, kind)
	c.info(fmt.Sprintf("ActionPlanInstanceID %s CurrentStatus: Running", id))
	const steps = 4
	for i := range steps {
		c.progress(psrp.ProgressRecord{
			Activity:          "Secret rotation (" + kind + ")",
			StatusDescription: fmt.Sprintf("Step %d of %d", i+1, steps),
			PercentComplete:   int32(100 * i / steps),
			ParentActivityID:  -1,
			SecondsRemaining:  -1,
		})
		if err := c.sleep(c.p.cfg.RotationTime / steps); err != nil {
			c.p.endAction(id, "Failed", "stopped")
			return err
		}
	}
	c.p.mu.Lock()
	failing := c.p.failRotate > 0
	if failing {
		c.p.failRotate--
	}
	c.p.mu.Unlock()
	if failing {
		c.p.endAction(id, "Failed", "Action plan failed.")
		c.info(fmt.Sprintf("ActionPlanInstanceID %s CurrentStatus: Failed", id))
		c.info("Action plan finished with status: 'Failed'")
		return fail(psrp.ErrorRecord{
			Message:               fmt.Sprintf("Action plan %s failed. Run Start-SecretRotation -ReRun to retry the failed steps.", id),
			FullyQualifiedErrorId: "ActionPlanFailed,Start-SecretRotation",
			Category:              psrp.InvalidOperation,
			Activity:              c.cmd.name,
			Reason:                "InvalidOperationException",
			ExceptionType:         "System.InvalidOperationException",
		})
	}
	if !internal {
		c.p.installStaged()
	}
	c.p.endAction(id, "Completed", "")
	if f := c.p.cfg.OnSecretRotation; f != nil {
		f(internal)
	}
	c.info(fmt.Sprintf("ActionPlanInstanceID %s CurrentStatus: Completed", id))
	c.info("Action plan finished with status: 'Completed'")
	return nil
}

// lastAction returns the newest action of function (and kind, when set).
func (p *PEP) lastAction(function, kind string) *Action {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := len(p.actions) - 1; i >= 0; i-- {
		a := p.actions[i]
		if strings.EqualFold(a.Function, function) && (kind == "" || a.Kind == kind) {
			return &a
		}
	}
	return nil
}

// getActionStatus reports the newest action plan (of -FunctionName, when
// given). The object's shape is invented: Microsoft does not document it.
func getActionStatus(c *call) error {
	fn, _ := c.args["FunctionName"].(string)
	var a *Action
	if fn != "" {
		a = c.p.lastAction(fn, "")
	} else {
		c.p.mu.Lock()
		if n := len(c.p.actions); n > 0 {
			cp := c.p.actions[n-1]
			a = &cp
		}
		c.p.mu.Unlock()
	}
	if a == nil {
		return nil
	}
	var end any
	if !a.End.IsZero() {
		end = a.End
	}
	var errText any
	if a.Error != "" {
		errText = a.Error
	}
	c.output(&psrp.Object{
		TypeNames: []string{"Deserialized.System.Management.Automation.PSCustomObject", "Deserialized.System.Object"},
		Members: []psrp.Property{
			{Name: "ActionPlanInstanceID", Value: a.ID},
			{Name: "FunctionName", Value: a.Function},
			{Name: "ActionType", Value: a.Kind},
			{Name: "Status", Value: a.Status},
			{Name: "StartTime", Value: a.Start},
			{Name: "EndTime", Value: end},
			{Name: "ErrorMessage", Value: errText},
		},
	})
	return nil
}
