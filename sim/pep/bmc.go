package pep

import (
	"crypto/hmac"
	"fmt"
	"strings"

	"github.com/runbook-dev/runbook/pep/psrp"
)

// setBmcCredential serves Set-BmcCredential and Set-BmcPassword: an action
// plan that visits every node, changes the BMC's password (unless
// -BypassBMCUpdate) and then the credential Azure Stack stores for it.
// Microsoft documents neither its output nor its error texts: it writes
// progress and one information line, and fails with the invented
// FullyQualifiedErrorId BmcCredentialUpdateFailed when a BMC refuses.
func setBmcCredential(c *call) error {
	pwSS, _ := c.args["BmcPassword"].(psrp.SecureString)
	pw, _ := pwSS.Reveal()
	user, _ := c.args["BmcUser"].(string)
	bypass, _ := c.args["BypassBMCUpdate"].(bool)

	act := c.p.startAction(c.cmd.name, "BMC")
	c.p.mu.Lock()
	nodes := append([]*bmc(nil), c.p.nodes...)
	c.p.mu.Unlock()
	for i, n := range nodes {
		c.progress(psrp.ProgressRecord{
			Activity:          c.cmd.name,
			StatusDescription: fmt.Sprintf("Updating the BMC credential of %s", n.name),
			PercentComplete:   int32(100 * i / len(nodes)),
			ParentActivityID:  -1,
			SecondsRemaining:  -1,
		})
		if err := c.sleep(c.p.cfg.BMCUpdateTime); err != nil {
			c.p.endAction(act, "Failed", "stopped")
			return err
		}
		if err := c.p.changeBMC(n, user, pw, bypass); err != nil {
			msg := fmt.Sprintf("Failed to update the BMC credential of node %s: %v", n.name, err)
			c.p.endAction(act, "Failed", msg)
			return fail(psrp.ErrorRecord{
				Message:               msg,
				FullyQualifiedErrorId: "BmcCredentialUpdateFailed," + c.cmd.name,
				Category:              psrp.InvalidOperation,
				Activity:              c.cmd.name,
				Reason:                "InvalidOperationException",
				TargetName:            n.name,
				TargetType:            "String",
				ExceptionType:         "System.InvalidOperationException",
			})
		}
	}
	c.progress(psrp.ProgressRecord{Activity: c.cmd.name, StatusDescription: "Completed", PercentComplete: 100, ParentActivityID: -1, SecondsRemaining: -1, Completed: true})
	c.p.endAction(act, "Completed", "")
	what := "BMC credential updated"
	if bypass {
		what = "Stored BMC credential updated (BMCs not changed)"
	}
	c.info(fmt.Sprintf("%s on %d nodes.", what, len(nodes)))
	return nil
}

// changeBMC applies a new password to one node: first the BMC (which may
// refuse), then the stored credential.
func (p *PEP) changeBMC(n *bmc, user, pw string, bypass bool) error {
	p.mu.Lock()
	defer func() { p.mu.Unlock(); p.save() }()
	h := p.hash(n.name, pw)
	if !bypass {
		if reason, ok := p.rejectBMC[strings.ToUpper(n.name)]; ok {
			delete(p.rejectBMC, strings.ToUpper(n.name))
			return fmt.Errorf("the BMC rejected the new credential: %s", reason)
		}
		if err := p.cfg.BMCPolicy(pw); err != nil {
			return fmt.Errorf("the BMC rejected the new credential: %v", err)
		}
		if !hmac.Equal(n.bmcHash, h) {
			n.changes++
			n.changed = p.clk.Now()
		}
		n.bmcHash = h
	}
	n.storedHash = h
	if user != "" {
		n.user = user
	}
	return nil
}

// startAction records a running action plan.
func (p *PEP) startAction(function, kind string) psrp.GUID {
	id, _ := psrp.NewGUID(p.cfg.Rand)
	p.mu.Lock()
	p.actions = append(p.actions, Action{ID: id, Function: function, Kind: kind, Status: "Running", Start: p.clk.Now()})
	p.mu.Unlock()
	p.save()
	return id
}

// endAction records how an action plan ended.
func (p *PEP) endAction(id psrp.GUID, status, errText string) {
	p.mu.Lock()
	for i := range p.actions {
		if p.actions[i].ID == id {
			p.actions[i].Status, p.actions[i].End, p.actions[i].Error = status, p.clk.Now(), errText
		}
	}
	p.mu.Unlock()
	p.save()
}
