package plan

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/zclconf/go-cty/cty"
)

// The JSON form of a plan: what `runbook plan -json` prints and what a
// saved plan file holds (plus a MAC). docs/plan-json.md documents it; field
// order is stable.
type jsonPlan struct {
	FormatVersion string       `json:"format_version"`
	ID            string       `json:"id"`
	ToolVersion   string       `json:"tool_version"`
	CreatedAt     time.Time    `json:"created_at"`
	ExpiresAt     time.Time    `json:"expires_at"`
	Runbook       jsonRunbook  `json:"runbook"`
	Inputs        []jsonInput  `json:"inputs"`
	Changes       []jsonChange `json:"changes"`
	Checks        []Check      `json:"checks"`
	Window        *jsonWindow  `json:"window,omitempty"`
	CriticalPath  jsonDuration `json:"critical_path_seconds"`
	Summary       jsonSummary  `json:"summary"`
	Warnings      []string     `json:"warnings"`
	Targets       []string     `json:"targets,omitempty"`
	// KeyID names the key the MAC was made with (a hash of it), so that a
	// plan whose key is gone is told from a plan that was changed.
	KeyID string `json:"key_id,omitempty"`
	MAC   string `json:"mac,omitempty"`
}

type jsonRunbook struct {
	Dir         string `json:"dir"`
	Description string `json:"description,omitempty"`
	Owner       string `json:"owner,omitempty"`
	Files       []File `json:"files"`
	// Endpoints are the hub and pep blocks' endpoints.
	Endpoints []Endpoint `json:"endpoints,omitempty"`
	Backend   string     `json:"backend,omitempty"`
}

type jsonInput struct {
	Name        string `json:"name"`
	Sensitive   bool   `json:"sensitive"`
	Value       *Value `json:"value,omitempty"`
	Fingerprint string `json:"fingerprint,omitempty"`
	Source      string `json:"source,omitempty"`
}

type jsonChange struct {
	Address          string            `json:"address"`
	Type             string            `json:"type"`
	Name             string            `json:"name"`
	Action           string            `json:"action"`
	Summary          string            `json:"summary"`
	Reason           string            `json:"reason,omitempty"`
	Before           Value             `json:"before"`
	After            Value             `json:"after"`
	DependsOn        []string          `json:"depends_on"`
	ExpectedDuration jsonDuration      `json:"expected_duration_seconds"`
	Private          map[string]string `json:"private,omitempty"`
	Fingerprints     map[string]string `json:"fingerprints,omitempty"`
	Remote           string            `json:"remote,omitempty"`
}

type jsonWindow struct {
	Name    string       `json:"name"`
	Open    time.Time    `json:"open"`
	Close   time.Time    `json:"close"`
	OpenNow bool         `json:"open_now"`
	Fits    bool         `json:"fits"`
	Spare   jsonDuration `json:"spare_seconds"`
}

type jsonSummary struct {
	Create int `json:"create"`
	Update int `json:"update"`
	Run    int `json:"run"`
	NoOp   int `json:"no_op"`
	Skip   int `json:"skip"`
}

// jsonDuration is a duration in seconds, a JSON number (14400, 0.5): what
// any language reads without a parser for Go's "4h0m0s".
type jsonDuration time.Duration

func (d jsonDuration) MarshalJSON() ([]byte, error) { return json.Marshal(Seconds(time.Duration(d))) }

func (d *jsonDuration) UnmarshalJSON(b []byte) error {
	var s float64
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	*d = jsonDuration(time.Duration(s * float64(time.Second)))
	return nil
}

// Seconds returns d in seconds, to the millisecond: how every duration of
// runbook's JSON (plans, apply events) is written.
func Seconds(d time.Duration) float64 {
	return float64(d.Round(time.Millisecond)) / float64(time.Second)
}

// MarshalJSON returns the plan's JSON form, without a MAC.
func (p *Plan) MarshalJSON() ([]byte, error) {
	jp, err := p.toJSON()
	if err != nil {
		return nil, err
	}
	return json.Marshal(jp)
}

func (p *Plan) toJSON() (*jsonPlan, error) {
	jp := &jsonPlan{
		FormatVersion: FormatVersion,
		ID:            p.ID,
		ToolVersion:   p.ToolVersion,
		CreatedAt:     p.CreatedAt.UTC(),
		ExpiresAt:     p.ExpiresAt.UTC(),
		Runbook:       jsonRunbook{Dir: p.Runbook.Dir, Description: p.Runbook.Description, Owner: p.Runbook.Owner, Files: nonNil(p.Runbook.Files), Endpoints: p.Runbook.Endpoints, Backend: p.Runbook.Backend},
		Checks:        nonNil(p.Checks),
		CriticalPath:  jsonDuration(p.CriticalPath),
		Warnings:      nonNil(p.Warnings),
		Targets:       p.Targets,
		Inputs:        []jsonInput{},
		Changes:       []jsonChange{},
	}
	for _, in := range p.Inputs {
		ji := jsonInput{Name: in.Name, Sensitive: in.Sensitive, Fingerprint: in.Fingerprint, Source: in.Source}
		if !in.Sensitive && in.Value != cty.NilVal {
			v, err := EncodeValue(in.Value)
			if err != nil {
				return nil, fmt.Errorf("input %s: %w", in.Name, err)
			}
			ji.Value = &v
		}
		jp.Inputs = append(jp.Inputs, ji)
	}
	counts := p.Counts()
	jp.Summary = jsonSummary{Create: counts[Create], Update: counts[Update], Run: counts[Run], NoOp: counts[NoOp], Skip: counts[Skip]}
	for _, c := range p.Changes {
		before, err := EncodeValue(c.Before)
		if err != nil {
			return nil, fmt.Errorf("%s before: %w", c.Address, err)
		}
		after, err := EncodeValue(c.After)
		if err != nil {
			return nil, fmt.Errorf("%s after: %w", c.Address, err)
		}
		jp.Changes = append(jp.Changes, jsonChange{
			Address: c.Address, Type: c.Type, Name: c.Name, Action: c.Action.String(),
			Summary: c.Summary, Reason: c.Reason, Before: before, After: after,
			DependsOn: nonNil(c.DependsOn), ExpectedDuration: jsonDuration(c.ExpectedDuration),
			Private: c.Private, Fingerprints: c.Fingerprints, Remote: c.Remote,
		})
	}
	if w := p.Window; w != nil {
		jp.Window = &jsonWindow{Name: w.Name, Open: w.Open.UTC(), Close: w.Close.UTC(), OpenNow: w.OpenNow, Fits: w.Fits, Spare: jsonDuration(w.Spare)}
	}
	return jp, nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// Encode returns the saved-plan form of p: its JSON form, indented, with a
// MAC over it keyed with key (which is not in the file), so that any edit
// is detected.
func Encode(p *Plan, key []byte) ([]byte, error) {
	jp, err := p.toJSON()
	if err != nil {
		return nil, err
	}
	jp.KeyID = keyID(key)
	body, err := json.Marshal(jp)
	if err != nil {
		return nil, err
	}
	jp.MAC = mac(key, body)
	out, err := json.MarshalIndent(jp, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

// keyID is a public name of a key: the first bytes of an HMAC of a fixed
// text, which tells keys apart without revealing them.
// KeyID names a plan key as a saved plan's key_id does, so that a caller
// holding several keys can say which one a plan needs.
func KeyID(key []byte) string { return keyID(key) }

func keyID(key []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("runbook plan key id"))
	return hex.EncodeToString(m.Sum(nil)[:8])
}

func mac(key, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write(body)
	return "hmac-sha256:" + hex.EncodeToString(m.Sum(nil))
}

// ErrBadPlan is wrapped by every error about a plan file's content.
var ErrBadPlan = errors.New("invalid plan file")

// PeekID returns the id of a saved plan without verifying it, so the caller
// can find the plan's key.
func PeekID(data []byte) (string, error) {
	var head struct {
		FormatVersion string `json:"format_version"`
		ID            string `json:"id"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return "", fmt.Errorf("%w: not a runbook plan (the file holds a JSON %s, not a plan object)", ErrBadPlan, te.Value)
		}
		return "", fmt.Errorf("%w: not a runbook plan (%s)", ErrBadPlan, jsonError(err))
	}
	if head.FormatVersion == "" || head.ID == "" {
		return "", fmt.Errorf("%w: not a runbook plan (no format_version or id)", ErrBadPlan)
	}
	if major(head.FormatVersion) != major(FormatVersion) {
		return "", fmt.Errorf("%w: format version %s is not supported by this runbook, which reads %s.x; make the plan again with this version", ErrBadPlan, head.FormatVersion, major(FormatVersion))
	}
	return head.ID, nil
}

// Decode reads a saved plan and verifies its MAC with key.
func Decode(data []byte, key []byte) (*Plan, error) {
	if _, err := PeekID(data); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var jp jsonPlan
	if err := dec.Decode(&jp); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrBadPlan, jsonError(err))
	}
	if jp.KeyID != "" && jp.KeyID != keyID(key) {
		return nil, fmt.Errorf("%w: the plan was not made with this runbook's key (.runbook/key): it belongs to another runbook, or the .runbook directory was made anew since; it cannot be verified: make a new plan", ErrBadPlan)
	}
	got := jp.MAC
	jp.MAC = ""
	body, err := json.Marshal(&jp)
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrBadPlan, err)
	}
	if got == "" || !hmac.Equal([]byte(got), []byte(mac(key, body))) {
		return nil, fmt.Errorf("%w: the plan file was changed after it was made (its MAC does not match); make a new plan", ErrBadPlan)
	}
	return fromJSON(&jp)
}

func fromJSON(jp *jsonPlan) (*Plan, error) {
	p := &Plan{
		ID: jp.ID, ToolVersion: jp.ToolVersion, CreatedAt: jp.CreatedAt, ExpiresAt: jp.ExpiresAt,
		Runbook:      Runbook{Dir: jp.Runbook.Dir, Description: jp.Runbook.Description, Owner: jp.Runbook.Owner, Files: jp.Runbook.Files, Endpoints: jp.Runbook.Endpoints, Backend: jp.Runbook.Backend},
		Checks:       jp.Checks,
		CriticalPath: time.Duration(jp.CriticalPath),
		Warnings:     jp.Warnings,
		Targets:      jp.Targets,
	}
	for _, ji := range jp.Inputs {
		in := Input{Name: ji.Name, Sensitive: ji.Sensitive, Fingerprint: ji.Fingerprint, Source: ji.Source}
		if ji.Value != nil {
			v, err := DecodeValue(*ji.Value)
			if err != nil {
				return nil, fmt.Errorf("%w: input %s: %s", ErrBadPlan, ji.Name, err)
			}
			in.Value = v
		}
		p.Inputs = append(p.Inputs, in)
	}
	for _, jc := range jp.Changes {
		a, ok := ParseAction(jc.Action)
		if !ok {
			return nil, fmt.Errorf("%w: %s: unknown action %q", ErrBadPlan, jc.Address, jc.Action)
		}
		before, err := DecodeValue(jc.Before)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %s", ErrBadPlan, jc.Address, err)
		}
		after, err := DecodeValue(jc.After)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %s", ErrBadPlan, jc.Address, err)
		}
		p.Changes = append(p.Changes, &Change{
			Address: jc.Address, Type: jc.Type, Name: jc.Name, Action: a, Summary: jc.Summary, Reason: jc.Reason,
			Before: before, After: after, DependsOn: jc.DependsOn, ExpectedDuration: time.Duration(jc.ExpectedDuration),
			Private: jc.Private, Fingerprints: jc.Fingerprints, Remote: jc.Remote,
		})
	}
	if w := jp.Window; w != nil {
		p.Window = &WindowFit{Name: w.Name, Open: w.Open, Close: w.Close, OpenNow: w.OpenNow, Fits: w.Fits, Spare: time.Duration(w.Spare)}
	}
	return p, nil
}

func major(v string) string {
	m, _, _ := strings.Cut(v, ".")
	return m
}

func jsonError(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) && strings.Contains(se.Error(), "unexpected end") {
		return "the file ends early: it is truncated"
	}
	if errors.As(err, &se) {
		return fmt.Sprintf("malformed JSON at byte %d: %s", se.Offset, se.Error())
	}
	if strings.Contains(err.Error(), "unexpected EOF") {
		return "the file ends early: it is truncated"
	}
	return err.Error()
}

// PeekRunbook returns the runbook directory and the shared state backend
// ("" for local state) a saved plan names, without verifying the plan.
func PeekRunbook(data []byte) (dir, backend string, err error) {
	var head struct {
		Runbook struct {
			Dir     string `json:"dir"`
			Backend string `json:"backend"`
		} `json:"runbook"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return "", "", fmt.Errorf("%w: %s", ErrBadPlan, jsonError(err))
	}
	switch {
	case head.Runbook.Dir == "" && head.Runbook.Backend == "":
		return "", "", fmt.Errorf("%w: the plan names no runbook directory", ErrBadPlan)
	case head.Runbook.Dir == "":
		// Made in the runbook's directory against a shared backend: it
		// applies in the current directory.
		return ".", head.Runbook.Backend, nil
	}
	return head.Runbook.Dir, head.Runbook.Backend, nil
}
