package hub

import "testing"

func TestRedactorLeavesShortSecretsAlone(t *testing.T) {
	r := redactor(nil).with("x", "Canary-Secret-99")
	got := r.apply(`lookup adminmanagement.local.azurestack.external: no such host; body {"secret":"Canary-Secret-99"}`)
	want := `lookup adminmanagement.local.azurestack.external: no such host; body {"secret":"` + redacted + `"}`
	if got != want {
		t.Errorf("apply = %q, want %q", got, want)
	}
}
