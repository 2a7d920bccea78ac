package main

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// compileSchema compiles one of the JSON Schemas in docs/.
func compileSchema(path string) (*jsonschema.Schema, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(path, doc); err != nil {
		return nil, err
	}
	return c.Compile(path)
}

// validateJSON checks one JSON document against sch.
func validateJSON(sch *jsonschema.Schema, doc string) error {
	v, err := jsonschema.UnmarshalJSON(strings.NewReader(doc))
	if err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	return sch.Validate(v)
}

// TestSchemas checks that every schema in docs/ compiles, and that each
// refuses what its format forbids, so that the scripts' schema checks can
// fail.
func TestSchemas(t *testing.T) {
	tests := map[string]struct {
		schema, doc string
		ok          bool
	}{
		"version":              {"version", `{"version":"v1.0.0","go_version":"go1.26","os":"linux","arch":"amd64","plan_format_version":"2.0","event_format_version":"1.0"}`, true},
		"version extra key":    {"version", `{"version":"v1.0.0","go_version":"go1.26","os":"linux","arch":"amd64","plan_format_version":"2.0","event_format_version":"1.0","Version":"x"}`, false},
		"event version":        {"apply-events", `{"type":"version","time":"2026-11-28T23:00:00Z","format_version":"1.0","tool_version":"dev","plan_format_version":"2.0"}`, true},
		"event progress":       {"apply-events", `{"type":"progress","time":"2026-11-28T23:00:00Z","step":"step.a","attempt":1,"percent":40,"elapsed_seconds":12.5}`, true},
		"event -1 percent":     {"apply-events", `{"type":"started","time":"2026-11-28T23:00:00Z","step":"step.a","percent":-1}`, false},
		"event Go duration":    {"apply-events", `{"type":"started","time":"2026-11-28T23:00:00Z","step":"step.a","elapsed_seconds":"4h0m0s"}`, false},
		"event old key":        {"apply-events", `{"type":"started","time":"2026-11-28T23:00:00Z","step":"step.a","elapsed":"1s"}`, false},
		"event outcome spaced": {"apply-events", `{"type":"run_ended","time":"2026-11-28T23:00:00Z","status":"stopped","steps":{"step.a":"not started"}}`, false},
		"runs":                 {"runs", `{"runs":[{"id":"x","started":"2026-11-28T23:00:00Z","status":"stopped","steps":{"succeeded":1,"failed":0,"skipped":0,"in_flight":0},"journal":"ok"}]}`, true},
		"state list":           {"state-list", `{"backend":"local rb/.runbook","latest_run":{"id":"r","status":"unfinished","started":"2026-11-28T23:00:00Z"},"steps":[{"address":"step.bmc","last_success":"2026-11-28T23:00:00Z","in_flight":true,"run":"r","handle":"h"}]}`, true},
		"state list no step":   {"state-list", `{"backend":"local rb/.runbook","steps":[]}`, true},
		"state list result":    {"state-list", `{"backend":"b","steps":[{"address":"step.bmc","in_flight":false,"result":{"user":"u"}}]}`, false},
		"state list bad time":  {"state-list", `{"backend":"b","steps":[{"address":"step.bmc","in_flight":false,"last_success":"yesterday"}]}`, false},
		"state show":           {"state-show", `{"address":"step.bmc","last_success":"2026-11-28T23:00:00Z","result":{"fingerprint":"hmac-sha256:00","user":"u"},"in_flight":false}`, true},
		"state show hidden":    {"state-show", `{"address":"step.bmc","result":{"user":null},"in_flight":false}`, true},
		"state show number":    {"state-show", `{"address":"step.bmc","result":{"user":1},"in_flight":false}`, false},
		"state show camel":     {"state-show", `{"address":"step.bmc","lastSuccess":"2026-11-28T23:00:00Z","in_flight":false}`, false},
		"state show bad addr":  {"state-show", `{"address":"bmc","in_flight":false}`, false},
		"plan capitalised":     {"plan", `{"format_version":"2.0","id":"x","tool_version":"dev","created_at":"2026-11-28T23:00:00Z","expires_at":"2026-11-28T23:00:00Z","runbook":{"dir":"d","files":[{"Name":"a","SHA256":"b"}]},"inputs":[],"changes":[],"checks":[],"critical_path_seconds":0,"summary":{"create":0,"update":0,"run":0,"no_op":0,"skip":0},"warnings":[]}`, false},
		"plan":                 {"plan", `{"format_version":"2.0","id":"x","tool_version":"dev","created_at":"2026-11-28T23:00:00Z","expires_at":"2026-11-28T23:00:00Z","runbook":{"dir":"d","files":[{"name":"a","sha256":"b"}]},"inputs":[],"changes":[],"checks":[],"critical_path_seconds":0,"summary":{"create":0,"update":0,"run":0,"no_op":0,"skip":0},"warnings":[]}`, true},
		"plan secret value":    {"plan", `{"format_version":"2.0","id":"x","tool_version":"dev","created_at":"2026-11-28T23:00:00Z","expires_at":"2026-11-28T23:00:00Z","runbook":{"dir":"d","files":[]},"inputs":[{"name":"p","sensitive":true,"value":{"type":"string","value":"s"}}],"changes":[],"checks":[],"critical_path_seconds":0,"summary":{"create":0,"update":0,"run":0,"no_op":0,"skip":0},"warnings":[]}`, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			sch, err := compileSchema("../../docs/" + tc.schema + ".schema.json")
			if err != nil {
				t.Fatal(err)
			}
			err = validateJSON(sch, tc.doc)
			if (err == nil) != tc.ok {
				t.Errorf("valid = %v, want %v (%v)", err == nil, tc.ok, err)
			}
		})
	}
}
