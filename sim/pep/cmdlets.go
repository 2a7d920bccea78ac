package pep

import (
	"path"
	"strconv"
	"strings"

	"github.com/runbook-dev/runbook/pep/psrp"
)

// cmdlet is one command the PEP exposes.
type cmdlet struct {
	name   string
	params []param
	// anyParams accepts any named parameter unchecked (the console helpers
	// a JEA endpoint always exposes).
	anyParams bool
	// closesSession closes the RunspacePool after a successful run.
	closesSession bool
	run           func(c *call) error
}

func (c *cmdlet) param(name string) *param {
	for i := range c.params {
		if strings.EqualFold(c.params[i].name, name) {
			return &c.params[i]
		}
	}
	return nil
}

// commands lists what Get-Command shows on this PEP, in order.
func (p *PEP) commands() []*cmdlet {
	noop := func(c *call) error { return nil }
	helper := func(name string) *cmdlet { return &cmdlet{name: name, anyParams: true, run: noop} }
	asJob := param{name: "AsJob", kind: kSwitch}
	cmds := []*cmdlet{
		helper("Clear-Host"),
		{name: "Close-PrivilegedEndpoint", closesSession: true, run: closePrivilegedEndpoint, params: []param{
			// Both optional (PEP reference, 2002): without a destination
			// the transcripts stay on the PEP for the next close.
			{name: "TranscriptsPathDestination", kind: kString},
			{name: "Credential", kind: kCredential},
			asJob,
		}},
		helper("Exit-PSSession"),
		{name: "Get-ActionStatus", run: getActionStatus, params: []param{
			{name: "ActionType", kind: kString},
			{name: "FunctionName", kind: kString},
			asJob,
		}},
		{name: "Get-AzureStackStampInformation", run: getStampInformation, params: []param{asJob}},
		{name: "Get-Command", run: getCommand, params: []param{
			{name: "Name", kind: kStrings},
			{name: "Syntax", kind: kSwitch},
		}},
		helper("Get-FormatData"),
		helper("Get-Help"),
		helper("Measure-Object"),
		helper("Out-Default"),
		helper("Select-Object"),
	}
	legacy := &cmdlet{name: "Set-BmcPassword", run: setBmcCredential, params: []param{
		{name: "BmcPassword", kind: kSecure, mandatory: true},
	}}
	current := &cmdlet{name: "Set-BmcCredential", run: setBmcCredential, params: []param{
		{name: "BmcPassword", kind: kSecure, mandatory: true},
		{name: "BmcUser", kind: kString, maxLen: 16},
		{name: "BypassBMCUpdate", kind: kSwitch},
	}}
	if p.cfg.LegacyOnly {
		cmds = append(cmds, legacy)
	} else {
		cmds = append(cmds, current, legacy)
	}
	cmds = append(cmds, &cmdlet{name: "Test-AzureStack", run: testAzureStack, params: []param{
		{name: "Group", kind: kString},
		{name: "Include", kind: kStrings},
		{name: "Ignore", kind: kStrings},
		{name: "DetailedResults", kind: kSwitch},
		{name: "List", kind: kSwitch},
		{name: "TimeoutSeconds", kind: kString},
		asJob,
	}})
	cmds = append(cmds, &cmdlet{name: "Start-SecretRotation", run: startSecretRotation, params: []param{
		{name: "PfxFilesPath", kind: kString},
		{name: "PathAccessCredential", kind: kCredential},
		{name: "CertificatePassword", kind: kSecure},
		{name: "Internal", kind: kSwitch},
		{name: "ReRun", kind: kSwitch},
		asJob,
	}})
	return cmds
}

// lookup finds an exposed command by name, case-insensitively.
func (p *PEP) lookup(name string) *cmdlet {
	for _, c := range p.commands() {
		if strings.EqualFold(c.name, name) {
			return c
		}
	}
	return nil
}

// getCommand lists the exposed commands, filtered by -Name wildcards; a
// -Name without wildcards that matches nothing is a non-terminating
// CommandNotFoundException, as in PowerShell.
func getCommand(c *call) error {
	names, _ := c.args["Name"].([]string)
	syntax, _ := c.args["Syntax"].(bool)
	for _, cmd := range c.p.commands() {
		if len(names) > 0 && !matchesAny(cmd.name, names) {
			continue
		}
		if syntax {
			c.output(commandSyntax(cmd))
			continue
		}
		c.output(&psrp.Object{
			// The server writes a live FunctionInfo; "Deserialized." is
			// what the client's deserializer adds, never on the wire.
			TypeNames: []string{"System.Management.Automation.FunctionInfo", "System.Management.Automation.CommandInfo", "System.Object"},
			ToString:  cmd.name,
			Props: []psrp.Property{
				{Name: "Name", Value: cmd.name},
				{Name: "CommandType", Value: psrp.Enum("System.Management.Automation.CommandTypes", "Function", 2)},
				{Name: "Source", Value: ""},
				{Name: "Visibility", Value: psrp.Enum("System.Management.Automation.SessionStateEntryVisibility", "Public", 0)},
			},
		})
	}
	for _, n := range names {
		if strings.ContainsAny(n, "*?[") || c.p.lookup(n) != nil {
			continue
		}
		c.writeError(*commandNotFound(n))
	}
	return nil
}

func matchesAny(name string, patterns []string) bool {
	for _, pat := range patterns {
		if ok, _ := path.Match(strings.ToLower(pat), strings.ToLower(name)); ok {
			return true
		}
	}
	return false
}

// commandSyntax renders Get-Command -Syntax for a simulated cmdlet.
func commandSyntax(cmd *cmdlet) string {
	var b strings.Builder
	b.WriteString("\r\n" + cmd.name)
	for _, p := range cmd.params {
		var s string
		switch p.kind {
		case kSwitch:
			s = "[-" + p.name + "]"
		default:
			s = "-" + p.name + " <" + strings.TrimPrefix(kindTypeName[p.kind], "System.") + ">"
			if !p.mandatory {
				s = "[" + s + "]"
			}
		}
		b.WriteString(" " + s)
	}
	b.WriteString(" [<CommonParameters>]\r\n")
	return b.String()
}

// getStampInformation returns the stamp's description.
func getStampInformation(c *call) error {
	st := c.p.cfg.Stamp
	c.p.mu.Lock()
	nodes := len(c.p.nodes)
	c.p.mu.Unlock()
	ips := make([]any, len(st.EmergencyConsoleIPAddresses))
	for i, ip := range st.EmergencyConsoleIPAddresses {
		ips[i] = ip
	}
	custom := func(members ...psrp.Property) *psrp.Object {
		return &psrp.Object{TypeNames: []string{"Deserialized.System.Management.Automation.PSCustomObject", "Deserialized.System.Object"}, Members: members}
	}
	root := custom(
		psrp.Property{Name: "Subject", Value: "CN=AzureStackCertificationAuthority, DC=AzureStack, DC=local"},
		psrp.Property{Name: "NotAfter", Value: st.RootCANotAfter},
	)
	c.output(custom(
		psrp.Property{Name: "StampVersion", Value: st.StampVersion},
		psrp.Property{Name: "CloudID", Value: st.CloudID},
		psrp.Property{Name: "DeploymentID", Value: st.DeploymentID},
		psrp.Property{Name: "RegionName", Value: st.RegionName},
		psrp.Property{Name: "ExternalDomainFQDN", Value: st.ExternalDomainFQDN},
		psrp.Property{Name: "DomainFQDN", Value: st.DomainFQDN},
		psrp.Property{Name: "DomainNetBIOSName", Value: st.DomainNetBIOSName},
		psrp.Property{Name: "Timezone", Value: st.Timezone},
		psrp.Property{Name: "AADTenantID", Value: st.AADTenantID},
		psrp.Property{Name: "AADTenantName", Value: st.AADTenantName},
		psrp.Property{Name: "IdentitySystem", Value: st.IdentitySystem},
		psrp.Property{Name: "NumberOfNodes", Value: int32(nodes)},
		psrp.Property{Name: "EmergencyConsoleIPAddresses", Value: &psrp.Object{TypeNames: []string{"Deserialized.System.Object[]", "Deserialized.System.Array", "Deserialized.System.Object"}, ListTag: "LST", List: ips}},
		psrp.Property{Name: "AdminExternalEndpoints", Value: custom(
			psrp.Property{Name: "AdminPortal", Value: st.AdminPortal},
			psrp.Property{Name: "AdminResourceManager", Value: st.AdminResourceManager},
		)},
		psrp.Property{Name: "TenantExternalEndpoints", Value: custom(
			psrp.Property{Name: "TenantPortal", Value: st.TenantPortal},
			psrp.Property{Name: "TenantResourceManager", Value: st.TenantResourceManager},
		)},
		psrp.Property{Name: "RootCACertificates", Value: &psrp.Object{TypeNames: []string{"Deserialized.System.Object[]", "Deserialized.System.Array", "Deserialized.System.Object"}, ListTag: "LST", List: []any{root}}},
	))
	return nil
}

// isUNC reports whether s looks like \\host\share.
func isUNC(s string) bool {
	if !strings.HasPrefix(s, `\\`) {
		return false
	}
	host, share, ok := strings.Cut(s[2:], `\`)
	return ok && host != "" && share != ""
}

// closePrivilegedEndpoint ships the transcripts to the share and ends the
// session.
func closePrivilegedEndpoint(c *call) error {
	dest, hasDest := c.args["TranscriptsPathDestination"].(string)
	if !hasDest || dest == "" {
		c.info("Transcripts kept on the privileged endpoint; give -TranscriptsPathDestination to copy them off.")
		return nil
	}
	if !isUNC(dest) {
		return fail(psrp.ErrorRecord{
			Message:               "The transcripts destination must be a file share path such as \\\\10.0.0.5\\share.",
			FullyQualifiedErrorId: "InvalidTranscriptsPath,Close-PrivilegedEndpoint",
			Category:              psrp.InvalidArgument,
			Activity:              c.cmd.name,
			Reason:                "ArgumentException",
			ExceptionType:         "System.ArgumentException",
		})
	}
	c.p.mu.Lock()
	c.p.shipped = append(c.p.shipped, c.p.transcript...)
	n := len(c.p.transcript)
	c.p.transcript = nil
	c.p.mu.Unlock()
	c.p.save()
	c.info("Copied " + strconv.Itoa(n) + " transcript entries to " + dest + ".")
	return nil
}
