package lang

import (
	"bytes"
	"fmt"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// MaxNesting is how deeply brackets, braces, parentheses, quotes and
// template sequences may nest in a runbook or variable file. hclsyntax parses
// nesting by recursion, so a file of a few hundred thousand "[" exhausts the
// goroutine stack and kills the process instead of failing with a
// diagnostic; no real runbook comes near this depth.
const MaxNesting = 1000

// CheckSource reports, as a single error diagnostic, a file that hclsyntax
// must not be given: one that is not UTF-8 text (UTF-16 as Windows
// PowerShell writes it, a binary file such as a PFX) or that nests deeper
// than MaxNesting. hclsyntax would report a binary file as one error per
// byte and would overflow the stack on deep nesting. Callers that parse
// runbook or variable files themselves (such as a formatter) should call it
// first and not parse a file it refuses.
func CheckSource(src []byte, filename string) hcl.Diagnostics {
	if d := checkEncoding(src, filename); d != nil {
		return hcl.Diagnostics{d}
	}
	tokens, _ := hclsyntax.LexConfig(src, filename, hcl.InitialPos)
	return checkNesting(tokens)
}

// checkExpressionSource is CheckSource for the text of one expression (a
// -var value).
func checkExpressionSource(src []byte, filename string) hcl.Diagnostics {
	if d := checkEncoding(src, filename); d != nil {
		return hcl.Diagnostics{d}
	}
	tokens, _ := hclsyntax.LexExpression(src, filename, hcl.InitialPos)
	return checkNesting(tokens)
}

func checkEncoding(src []byte, filename string) *hcl.Diagnostic {
	switch {
	case bytes.HasPrefix(src, []byte{0xFF, 0xFE}) || bytes.HasPrefix(src, []byte{0xFE, 0xFF}) || looksUTF16(src):
		return &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "File is UTF-16, not UTF-8",
			Detail: fmt.Sprintf("%s is encoded as UTF-16 (as Windows PowerShell 5 writes files with > or Out-File). Runbook and variable files must be UTF-8: save it again as UTF-8, e.g. with Out-File -Encoding utf8 or your editor's encoding menu.",
				filename),
			Subject: posRange(src, filename, 0).Ptr(),
		}
	}
	bad, binary := firstNonText(src)
	switch {
	case bad < 0:
		return nil
	case binary:
		return &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Not a text file",
			Detail: fmt.Sprintf("%s holds control bytes or NUL bytes, so it is a binary file (a certificate, an archive or a program, perhaps), not a runbook. Runbook and variable files are UTF-8 text; check the file name.",
				filename),
			Subject: posRange(src, filename, bad).Ptr(),
		}
	default:
		return &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid character encoding",
			Detail: fmt.Sprintf("The byte 0x%02X is not UTF-8. Runbook and variable files must be UTF-8 encoded: save %s as UTF-8 (not Latin-1 or a Windows code page).",
				src[bad], filename),
			Subject: posRange(src, filename, bad).Ptr(),
		}
	}
}

// firstNonText returns the offset of the first byte of src that text does
// not have (a NUL, a control byte other than tab, newline, carriage return,
// vertical tab or form feed, or a byte that is not UTF-8), or -1; binary is
// true when src holds NUL or control bytes anywhere, so that a file is not
// called mis-encoded text for want of a NUL before its first bad byte.
func firstNonText(src []byte) (bad int, binary bool) {
	bad = -1
	for i := 0; i < len(src); {
		r, size := utf8.DecodeRune(src[i:])
		isControl := r < 0x20 && r != '\t' && r != '\n' && r != '\r' && r != '\v' && r != '\f'
		if isControl {
			binary = true
		}
		if bad < 0 && (isControl || r == utf8.RuneError && size <= 1) {
			bad = i
		}
		if binary && bad >= 0 {
			return bad, true
		}
		i += size
	}
	return bad, binary
}

// looksUTF16 recognises UTF-16 without a byte order mark by the NUL bytes
// that ASCII text has in every other position.
func looksUTF16(src []byte) bool {
	if len(src) < 4 {
		return false
	}
	n := min(len(src)&^1, 64)
	even, odd := 0, 0
	for i := 0; i < n; i += 2 {
		if src[i] == 0 {
			even++
		}
		if src[i+1] == 0 {
			odd++
		}
	}
	half := n / 2
	return (odd == half && even == 0) || (even == half && odd == 0)
}

// checkNesting reports the first token that opens a level deeper than
// MaxNesting.
func checkNesting(tokens hclsyntax.Tokens) hcl.Diagnostics {
	depth := 0
	for _, t := range tokens {
		switch t.Type {
		case hclsyntax.TokenOBrace, hclsyntax.TokenOBrack, hclsyntax.TokenOParen, hclsyntax.TokenOQuote,
			hclsyntax.TokenOHeredoc, hclsyntax.TokenTemplateInterp, hclsyntax.TokenTemplateControl:
			depth++
			if depth > MaxNesting {
				return hcl.Diagnostics{{
					Severity: hcl.DiagError,
					Summary:  "Nesting too deep",
					Detail: fmt.Sprintf("Brackets, braces, parentheses and templates are nested more than %d levels deep here. runbook does not parse deeper nesting; split the expression into local values.",
						MaxNesting),
					Subject: t.Range.Ptr(),
				}}
			}
		case hclsyntax.TokenCBrace, hclsyntax.TokenCBrack, hclsyntax.TokenCParen, hclsyntax.TokenCQuote,
			hclsyntax.TokenCHeredoc, hclsyntax.TokenTemplateSeqEnd:
			if depth > 0 {
				depth--
			}
		}
	}
	return nil
}

// posRange returns the one-byte range at offset i of src, with its line and
// column (counted in bytes: the source may not be text).
func posRange(src []byte, filename string, i int) hcl.Range {
	line, col := 1, 1
	for _, b := range src[:i] {
		if b == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	start := hcl.Pos{Line: line, Column: col, Byte: i}
	end := hcl.Pos{Line: line, Column: col + 1, Byte: i + 1}
	return hcl.Range{Filename: filename, Start: start, End: end}
}
