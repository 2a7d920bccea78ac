package lang

import (
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
)

func TestBackend(t *testing.T) {
	tests := map[string]struct {
		src  string
		want Backend
	}{
		"access key from the environment": {`
runbook {
  backend "azurerm" {
    storage_account_name = "azsstate"
    endpoint             = "https://azsstate.blob.east.contoso.com"
    container_name       = "runbook-state"
    key                  = "east/quarterly"
    access_key           = env("RUNBOOK_STATE_ACCESS_KEY")
    ca_file              = "certs/root-ca.pem"
  }
}`, Backend{Type: "azurerm", StorageAccountName: "azsstate", ContainerName: "runbook-state", Key: "east/quarterly",
			Endpoint: "https://azsstate.blob.east.contoso.com", AccessKey: NewSecret("s3cr3t-canary"), CAFile: "certs/root-ca.pem"}},
		"Azure's endpoint by default, Azure AD sign-in": {`
runbook {
  backend "azurerm" {
    storage_account_name = "azsstate"
    container_name       = "runbook-state"
    key                  = "east"
    auth {
      method = "azure_cli"
    }
  }
}`, Backend{Type: "azurerm", StorageAccountName: "azsstate", ContainerName: "runbook-state", Key: "east",
			Endpoint: "https://azsstate.blob.core.windows.net", Auth: &HubAuth{Method: "azure_cli"}}},
		"Azurite on loopback": {`
runbook {
  backend "azurerm" {
    storage_account_name = "devstoreaccount1"
    endpoint             = "http://127.0.0.1:10000/devstoreaccount1"
    container_name       = "runbook-state"
    key                  = "east"
    sas_token            = env("RUNBOOK_STATE_ACCESS_KEY")
  }
}`, Backend{Type: "azurerm", StorageAccountName: "devstoreaccount1", ContainerName: "runbook-state", Key: "east",
			Endpoint: "http://127.0.0.1:10000/devstoreaccount1", SASToken: NewSecret("s3cr3t-canary")}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			fsys := fstest.MapFS{"main.runbook.hcl": {Data: []byte(tc.src)}}
			rb, diags := Load(fsys, ".", Options{Environ: []string{"RUNBOOK_STATE_ACCESS_KEY=s3cr3t-canary"}})
			for _, d := range diags {
				if d.Severity == hcl.DiagError {
					t.Fatalf("%s: %s", d.Summary, d.Detail)
				}
			}
			if rb.Meta == nil || rb.Meta.Backend == nil {
				t.Fatal("no backend decoded")
			}
			got := *rb.Meta.Backend
			opts := cmp.Options{
				cmp.AllowUnexported(Secret{}),
				cmp.FilterPath(func(p cmp.Path) bool {
					n := p.Last().String()
					return n == ".DeclRange" || n == ".body"
				}, cmp.Ignore()),
			}
			if diff := cmp.Diff(tc.want, got, opts); diff != "" {
				t.Errorf("backend (-want +got):\n%s", diff)
			}
		})
	}
}
