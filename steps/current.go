package steps

import (
	"math"
	"time"

	"github.com/runbook-dev/runbook/hub"
	"github.com/zclconf/go-cty/cty"
)

// CurrentType is the type of a product_secret step's current output: the
// secret as the stamp holds it when the step is planned (or applied), so
// that a policy can judge it, e.g.
//
//	condition = step.eventhub_cert.current.days_left > 7
//
// expires is RFC 3339 and days_left the whole days left (negative once
// expired); both are null when the stamp shows no expiry.
var CurrentType = cty.Object(map[string]cty.Type{
	"expires":   cty.String,
	"days_left": cty.Number,
})

// currentValue is the current output for a secret's state at now.
func currentValue(st hub.SecretState, now time.Time) cty.Value {
	exp, ok := st.Expiration()
	if !ok {
		return cty.NullVal(CurrentType)
	}
	days := math.Floor(exp.Sub(now).Round(time.Hour).Hours() / 24)
	return cty.ObjectVal(map[string]cty.Value{
		"expires":   cty.StringVal(rfc3339(exp)),
		"days_left": cty.NumberIntVal(int64(days)),
	})
}

// journalledCertificate is the certificate evidence the journal kept of
// this step's last import (its SHA-256 thumbprint and expiry), when the
// stamp still holds it deployed: the "before" side a reviewer compares the
// new certificate with. It is null when the journal holds nothing or the
// stamp's secret has changed since.
func journalledCertificate(last map[string]string, st hub.SecretState) cty.Value {
	sha, notAfter := last[ResultCertSHA256], last[ResultNotAfter]
	exp, ok := st.Expiration()
	if sha == "" || notAfter == "" || !ok {
		return cty.NullVal(EvidenceType)
	}
	t, err := time.Parse(time.RFC3339, notAfter)
	if err != nil || !sameSecond(t, exp) {
		return cty.NullVal(EvidenceType)
	}
	attrs := map[string]cty.Value{}
	for name, ty := range EvidenceType.AttributeTypes() {
		attrs[name] = cty.NullVal(ty)
	}
	attrs["sha256"], attrs["not_after"] = cty.StringVal(sha), cty.StringVal(notAfter)
	return cty.ObjectVal(attrs)
}
