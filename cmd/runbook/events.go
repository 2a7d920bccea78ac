package main

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"strings"
	"time"

	"github.com/runbook-dev/runbook/executor"
	"github.com/runbook-dev/runbook/executor/plan"
)

// The lines of `apply -json` that the CLI writes itself around the
// executor's step events (docs/apply-events.md): a version event first, a
// note for each message to the operator, and a run_ended event last.

type versionEvent struct {
	Type              string    `json:"type"`
	Time              time.Time `json:"time"`
	FormatVersion     string    `json:"format_version"`
	ToolVersion       string    `json:"tool_version"`
	PlanFormatVersion string    `json:"plan_format_version"`
}

type noteEvent struct {
	Type    string    `json:"type"`
	Time    time.Time `json:"time"`
	Message string    `json:"message"`
}

type runEndedEvent struct {
	Type string    `json:"type"`
	Time time.Time `json:"time"`
	// Run is the journal's run id; empty when nothing had to run.
	Run string `json:"run,omitempty"`
	// Status is succeeded, failed or stopped, or no_changes.
	Status  string `json:"status"`
	Stopped string `json:"stopped,omitempty"`
	// Steps maps each step's address to its outcome, in snake_case.
	Steps map[string]string `json:"steps"`
}

// writeEvent writes one line of the event stream.
func writeEvent(w io.Writer, ev any) {
	b, err := json.Marshal(ev)
	if err != nil {
		panic(err) // every event is plain data
	}
	fmt.Fprintf(w, "%s\n", b)
}

func newVersionEvent(now time.Time) versionEvent {
	return versionEvent{Type: "version", Time: now.UTC(), FormatVersion: executor.EventFormatVersion,
		ToolVersion: toolVersion(), PlanFormatVersion: plan.FormatVersion}
}

// snake turns an outcome ("not started") into its stream form.
func snake(s string) string { return strings.ReplaceAll(s, " ", "_") }

// versionInfo is what `runbook version -json` prints.
type versionInfo struct {
	Version            string `json:"version"`
	GoVersion          string `json:"go_version"`
	OS                 string `json:"os"`
	Arch               string `json:"arch"`
	PlanFormatVersion  string `json:"plan_format_version"`
	EventFormatVersion string `json:"event_format_version"`
}

func currentVersionInfo() versionInfo {
	return versionInfo{Version: toolVersion(), GoVersion: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH,
		PlanFormatVersion: plan.FormatVersion, EventFormatVersion: executor.EventFormatVersion}
}

// msgOut is where a message to the operator goes: stdout, or stderr when
// stdout carries JSON.
func (s *session) msgOut() io.Writer {
	if s.json {
		return s.e.stderr
	}
	return s.e.stdout
}
