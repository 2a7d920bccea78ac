package expiry

import (
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/runbook-dev/runbook/lang"
)

const coverRunbook = `
variable "product" {
  type    = string
  default = "microsoft.sqlrp"
}
hub "east" {
  endpoint = "https://adminmanagement.east.contoso.com"
  auth {
    method        = "client_secret"
    tenant        = "adfs"
    client_id     = "x"
    client_secret = "y"
  }
}
pep "east" {
  addresses = ["10.0.0.1"]
  username  = "u"
  password  = "p"
}
step "product_secret" "eh_cert" {
  hub          = hub.east
  package_id   = "microsoft.eventhub.1.2003.0.0"
  secret_name  = "aseh-ssl-gateway-pfx"
  pfx_file     = "eh.pfx"
  pfx_password = "x"
}
step "rotate_action" "sql" {
  hub        = hub.east
  product_id = var.product
  precondition {
    condition     = true
    error_message = "never"
  }
}
step "wait" "w" {
  duration = "1m"
}
`

// TestCover: which step rotates which secret.
func TestCover(t *testing.T) {
	rb, diags := lang.Load(fstest.MapFS{"main.runbook.hcl": {Data: []byte(coverRunbook)}}, ".", lang.Options{})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	secrets := []Secret{
		{Block: "hub.east", Group: ProductGroup("microsoft.eventhub", "aseh-ssl-gateway-pfx")},
		{Block: "hub.east", Group: ProductGroup("Microsoft.EventHub", "other-secret")},
		{Block: "hub.east", Group: ProductGroup("microsoft.sqlrp", "SSLCert")},
		{Block: "hub.west", Group: ProductGroup("microsoft.sqlrp", "SSLCert")},
		{Block: "hub.east", Group: GroupExternal},
	}
	Cover(secrets, Rotations(rb))
	var got [][]string
	for _, s := range secrets {
		got = append(got, s.RotatedBy)
	}
	want := [][]string{{"step.eh_cert"}, {}, {"step.sql"}, {}, {}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rotated by (-want +got):\n%s", diff)
	}
}

func TestDaysLeftAndSort(t *testing.T) {
	now := time.Date(2026, 11, 28, 23, 0, 0, 0, time.UTC)
	tests := map[string]struct {
		expires time.Time
		want    int
	}{
		"three days less seconds": {now.Add(72*time.Hour - 3*time.Second), 3},
		"a day and a half":        {now.Add(36 * time.Hour), 1},
		"expired yesterday":       {now.Add(-24 * time.Hour), -1},
	}
	for name, tc := range tests {
		if got := (Secret{Expires: tc.expires}).DaysLeft(now); got != tc.want {
			t.Errorf("%s: DaysLeft = %d, want %d", name, got, tc.want)
		}
	}
	s := []Secret{{What: "b", Expires: now.Add(2 * time.Hour)}, {What: "a", Expires: now.Add(time.Hour)}, {What: "c", Expires: now.Add(time.Hour)}}
	Sort(s)
	if got := s[0].What + s[1].What + s[2].What; got != "acb" {
		t.Errorf("sorted %s, want acb", got)
	}
}
