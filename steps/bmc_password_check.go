package steps

import (
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
)

// BMC credential limits. Azure Stack Hub documents only the length: "The
// user name and password for each BMC in your environment must be the same,
// and can't exceed 16 characters" (azure-stack-rotate-secrets.md, 1910 and
// later). The character rule is the BMC vendors': Dell's iDRAC guides list
// letters, digits and every ASCII punctuation character as safe "to ensure
// compatibility with all interfaces" (no space, nothing outside ASCII), and
// iDRAC, iLO and XClarity refuse passwords shorter than 8 characters by
// default; iDRAC9 also wants upper and lower case, a digit and a special
// character. The documented limits and the character set are errors here;
// the vendor-specific minimums are warnings, since a BMC configured
// otherwise accepts them.
const (
	maxBMCPassword   = 16
	minBMCPassword   = 8
	maxBMCUser       = 16
	bmcPasswordChars = "letters, digits and ASCII punctuation, no spaces"
)

// bmcChar reports whether r is a character BMCs accept in credentials:
// printable ASCII except the space.
func bmcChar(r rune) bool { return r > ' ' && r <= '~' }

// checkPassword reports what a BMC would refuse in the password. Its
// diagnostics name positions and rules, never characters, and their
// Subject is the step's block header, not the password attribute: the
// diagnostic printer shows the source line of its Subject, which for a
// password written in the runbook would be the password itself.
func (c *bmcConfig) checkPassword(sensitive bool) {
	pw := c.password
	n := utf8.RuneCountInString(pw)
	add := func(sev hcl.DiagnosticSeverity, summary, detail string) {
		c.diags = append(c.diags, &hcl.Diagnostic{Severity: sev, Summary: summary, Detail: detail, Subject: c.decl.Ptr()})
	}
	switch {
	case n == 0:
		add(hcl.DiagError, "Empty BMC password", "The password of bmc_password is empty. Give the new BMC password, at most 16 characters.")
		return
	case n > maxBMCPassword:
		add(hcl.DiagError, "BMC password too long",
			"The password of bmc_password is longer than 16 characters: Azure Stack Hub accepts BMC passwords of at most 16 characters.")
	}
	for i, r := range []rune(pw) {
		if !bmcChar(r) {
			add(hcl.DiagError, "Character a BMC refuses in the BMC password",
				"Character "+strconv.Itoa(i+1)+" of the password of bmc_password is not one a BMC accepts: use "+bmcPasswordChars+".")
			break
		}
	}
	if n < minBMCPassword {
		add(hcl.DiagWarning, "Short BMC password",
			"The password of bmc_password is shorter than 8 characters, which most BMCs (iDRAC, iLO, XClarity) refuse by default; the BMCs would then reject it during apply.")
	} else if !mixedClasses(pw) {
		add(hcl.DiagWarning, "Simple BMC password",
			"The password of bmc_password lacks an upper-case letter, a lower-case letter, a digit or a punctuation character; some BMCs (such as iDRAC9) require all four and would reject it during apply.")
	}
	if !sensitive {
		add(hcl.DiagWarning, "Secret is not marked sensitive",
			"The password of bmc_password is not sensitive, so it is written in the runbook or in a non-sensitive variable. Take it from a variable with sensitive = true or from env(...).")
	}
}

// mixedClasses reports whether s has an upper-case and a lower-case
// letter, a digit and a punctuation character.
func mixedClasses(s string) bool {
	var upper, lower, digit, punct bool
	for _, r := range s {
		switch {
		case r >= 'A' && r <= 'Z':
			upper = true
		case r >= 'a' && r <= 'z':
			lower = true
		case r >= '0' && r <= '9':
			digit = true
		case bmcChar(r):
			punct = true
		}
	}
	return upper && lower && digit && punct
}

// checkUser checks the optional BMC user name.
func (c *bmcConfig) checkUser() {
	n := utf8.RuneCountInString(c.user)
	switch {
	case n == 0:
		c.errorf("user", "Empty BMC user", "user is empty. Give the BMC user name, or remove user to leave the BMCs' user as it is.")
	case n > maxBMCUser:
		c.errorf("user", "BMC user name too long", "The BMC user name %q has %d characters; Azure Stack Hub accepts at most 16.", c.user, n)
	case strings.IndexFunc(c.user, func(r rune) bool { return !bmcChar(r) }) >= 0:
		c.errorf("user", "Invalid BMC user name", "The BMC user name %q has a character BMCs refuse: use %s.", c.user, bmcPasswordChars)
	}
}

// minRedact is the shortest secret redact looks for: a shorter one would
// match ordinary text. Such secrets cannot be BMC passwords a BMC accepts.
const minRedact = 4

// redact returns err's text with every secret replaced by
// "(sensitive value)". The clients never put secrets in errors; this is a
// second line of defence for text that runbook prints.
func redact(err error, secrets ...string) string {
	msg := err.Error()
	for _, s := range secrets {
		if len(s) >= minRedact {
			msg = strings.ReplaceAll(msg, s, "(sensitive value)")
		}
	}
	return msg
}

// redactErr returns err itself when its text holds no secret, or a new
// error with the redacted text (dropping the chain that held the secret).
func redactErr(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	if msg := redact(err, secrets...); msg != err.Error() {
		return errors.New(msg)
	}
	return err
}
