package lang

import (
	"bytes"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// maskValues returns src with every byte that could belong to a value
// replaced by '*': only the names of top-level attributes, punctuation and
// line breaks stay. Offsets are unchanged, so the ranges of diagnostics
// about the file still point at the right place in the masked copy.
func maskValues(src []byte) []byte {
	out := bytes.Repeat([]byte{'*'}, len(src))
	covered := make([]bool, len(src))
	tokens, _ := hclsyntax.LexConfig(src, "", hcl.InitialPos)
	depth, lineStart := 0, true
	for _, t := range tokens {
		keep := false
		switch t.Type {
		case hclsyntax.TokenNewline:
			keep, lineStart = true, true
		case hclsyntax.TokenOBrace, hclsyntax.TokenOBrack, hclsyntax.TokenOParen:
			keep = true
			depth++
		case hclsyntax.TokenCBrace, hclsyntax.TokenCBrack, hclsyntax.TokenCParen:
			keep = true
			depth--
		case hclsyntax.TokenEqual, hclsyntax.TokenComma, hclsyntax.TokenColon,
			hclsyntax.TokenOQuote, hclsyntax.TokenCQuote:
			keep = true
		case hclsyntax.TokenIdent:
			keep = lineStart && depth == 0
		}
		if t.Type != hclsyntax.TokenNewline {
			// A line comment takes its line break with it.
			lineStart = t.Type == hclsyntax.TokenComment && bytes.HasSuffix(t.Bytes, []byte("\n"))
		}
		for i := t.Range.Start.Byte; i < t.Range.End.Byte && i < len(src); i++ {
			covered[i] = true
		}
		if keep {
			copy(out[t.Range.Start.Byte:t.Range.End.Byte], src[t.Range.Start.Byte:t.Range.End.Byte])
		}
	}
	// Line breaks stay wherever they are, so that line numbers stay right
	// even where the lexer gave up; blanks between tokens stay too.
	for i, b := range src {
		if b == '\n' || b == '\r' || !covered[i] && (b == ' ' || b == '\t') {
			out[i] = b
		}
	}
	return out
}
