package lang

import "github.com/hashicorp/hcl/v2"

// Policy is a policy block: a condition over the whole runbook (variables,
// locals and step outputs such as certificate evidence) that must hold for a
// plan to be accepted. The executor evaluates it at plan time.
type Policy struct {
	Name string
	Condition
}

func decodePolicy(block *hcl.Block) (*Policy, hcl.Diagnostics) {
	p := &Policy{Name: block.Labels[0]}
	c, diags := decodeConditionBlock(block)
	if c != nil {
		p.Condition = *c
	}
	p.DeclRange = block.DefRange
	return p, diags
}

// Meta

var metaSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "description"}, {Name: "owner"}},
	Blocks:     []hcl.BlockHeaderSchema{{Type: "backend", LabelNames: []string{"type"}}},
}

func decodeMeta(block *hcl.Block) (*Meta, hcl.Diagnostics) {
	m := &Meta{DeclRange: block.DefRange}
	content, diags := block.Body.Content(metaSchema)
	for _, b := range content.Blocks {
		if m.Backend != nil {
			diags = append(diags, duplicate("backend block", "", m.Backend.DeclRange, b.DefRange))
			continue
		}
		be, bdiags := decodeBackend(b)
		m.Backend, diags = be, append(diags, bdiags...)
	}
	diags = append(diags, decodeString(content.Attributes["description"], &m.Description)...)
	diags = append(diags, decodeString(content.Attributes["owner"], &m.Owner)...)
	return m, diags
}
