package plan

import (
	"encoding/json"
	"fmt"

	"github.com/runbook-dev/runbook/marks"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

func isSensitiveMark(m any) bool { return m == marks.Sensitive }

// Value is the JSON form of a cty value: the value with every sensitive and
// unknown part replaced by null, its type, and the paths of the parts that
// were replaced.
type Value struct {
	Type      json.RawMessage `json:"type"`
	Value     json.RawMessage `json:"value"`
	Sensitive []Path          `json:"sensitive,omitempty"`
	Unknown   []Path          `json:"unknown,omitempty"`
}

// Path is a cty path in JSON: strings for attributes, {"index": k} for
// collection elements.
type Path []json.RawMessage

// EncodeValue returns the JSON form of v. No sensitive value survives it.
func EncodeValue(v cty.Value) (Value, error) {
	if v == cty.NilVal {
		v = cty.NullVal(cty.DynamicPseudoType)
	}
	unmarked, pvm := v.UnmarkDeepWithPaths()
	var out Value
	sensitive := map[string]bool{}
	for _, p := range pvm {
		for m := range p.Marks {
			if isSensitiveMark(m) {
				out.Sensitive = append(out.Sensitive, encodePath(p.Path))
				sensitive[pathKey(p.Path)] = true
			}
		}
	}
	clean, err := cty.Transform(unmarked, func(p cty.Path, v cty.Value) (cty.Value, error) {
		if sensitive[pathKey(p)] {
			return cty.NullVal(v.Type()), nil
		}
		if !v.IsKnown() {
			out.Unknown = append(out.Unknown, encodePath(p))
			return cty.NullVal(v.Type()), nil
		}
		return v, nil
	})
	if err != nil {
		return out, err
	}
	ty := clean.Type()
	if out.Type, err = ctyjson.MarshalType(ty); err != nil {
		return out, err
	}
	if out.Value, err = ctyjson.Marshal(clean, ty); err != nil {
		return out, err
	}
	return out, nil
}

// DecodeValue is the inverse of EncodeValue: it restores unknown values and
// sensitive marks; sensitive values come back as marked nulls.
func DecodeValue(jv Value) (cty.Value, error) {
	ty, err := ctyjson.UnmarshalType(jv.Type)
	if err != nil {
		return cty.NilVal, fmt.Errorf("value type: %w", err)
	}
	v, err := ctyjson.Unmarshal(jv.Value, ty)
	if err != nil {
		return cty.NilVal, fmt.Errorf("value: %w", err)
	}
	unknown := map[string]bool{}
	for _, p := range jv.Unknown {
		cp, err := decodePath(p)
		if err != nil {
			return cty.NilVal, err
		}
		unknown[pathKey(cp)] = true
	}
	if len(unknown) > 0 {
		v, err = cty.Transform(v, func(p cty.Path, v cty.Value) (cty.Value, error) {
			if unknown[pathKey(p)] {
				return cty.UnknownVal(v.Type()), nil
			}
			return v, nil
		})
		if err != nil {
			return cty.NilVal, err
		}
	}
	var pvm []cty.PathValueMarks
	for _, p := range jv.Sensitive {
		cp, err := decodePath(p)
		if err != nil {
			return cty.NilVal, err
		}
		pvm = append(pvm, cty.PathValueMarks{Path: cp, Marks: cty.NewValueMarks(marks.Sensitive)})
	}
	if len(pvm) > 0 {
		v = v.MarkWithPaths(pvm)
	}
	return v, nil
}

func encodePath(p cty.Path) Path {
	out := make(Path, 0, len(p))
	for _, step := range p {
		switch s := step.(type) {
		case cty.GetAttrStep:
			b, _ := json.Marshal(s.Name)
			out = append(out, b)
		case cty.IndexStep:
			k, _ := ctyjson.Marshal(s.Key, s.Key.Type())
			b, _ := json.Marshal(map[string]json.RawMessage{"index": k})
			out = append(out, b)
		}
	}
	return out
}

func decodePath(p Path) (cty.Path, error) {
	var out cty.Path
	for _, raw := range p {
		var name string
		if err := json.Unmarshal(raw, &name); err == nil {
			out = out.GetAttr(name)
			continue
		}
		var idx struct {
			Index json.RawMessage `json:"index"`
		}
		if err := json.Unmarshal(raw, &idx); err != nil || idx.Index == nil {
			return nil, fmt.Errorf("invalid path step %s", raw)
		}
		var n json.Number
		if err := json.Unmarshal(idx.Index, &n); err == nil {
			k, err := cty.ParseNumberVal(n.String())
			if err != nil {
				return nil, err
			}
			out = out.Index(k)
			continue
		}
		var s string
		if err := json.Unmarshal(idx.Index, &s); err != nil {
			return nil, fmt.Errorf("invalid path index %s", idx.Index)
		}
		out = out.Index(cty.StringVal(s))
	}
	return out, nil
}

// pathKey is a comparable form of a path.
func pathKey(p cty.Path) string {
	b, _ := json.Marshal(encodePath(p))
	return string(b)
}
