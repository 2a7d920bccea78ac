package lang

import (
	"bytes"
	"io"
	"sort"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// maskMarker stands for each run of bytes of a variable file that could
// belong to a value. It is the same whatever the run's length, even for an
// empty string, so that a diagnostic shows where a value is but neither
// the value nor how long it is.
const maskMarker = "***"

// maskedFile is the copy of a variable file that diagnostics quote: its
// text with every run of value bytes replaced by maskMarker, and the runs,
// which move a range of the real file onto the copy. Only the names of
// top-level attributes and block types, punctuation, quotes, blanks between
// tokens and line breaks stay, so the copy has the real file's lines, and
// its shape (quotes, brackets, commas) but no value.
type maskedFile struct {
	display []byte
	// runs are the masked runs in file order.
	runs []maskRun
}

// maskRun is a run of value bytes: src[start:end] in the real file, shown
// as maskMarker at display[disp:]. start == end for an empty value (an
// empty string, an empty line of a heredoc), which is shown as a marker
// too.
type maskRun struct {
	start, end, disp int
}

// maskValues returns the masked copy of the variable file src.
func maskValues(src []byte) *maskedFile {
	keep := make([]bool, len(src))
	covered := make([]bool, len(src))
	var empty []int // where an empty value is: a marker goes before src[i]
	tokens, _ := hclsyntax.LexConfig(src, "", hcl.InitialPos)
	depth, lineStart := 0, true
	for i, t := range tokens {
		start, end := min(t.Range.Start.Byte, len(src)), min(t.Range.End.Byte, len(src))
		kept := false
		switch t.Type {
		case hclsyntax.TokenOBrace, hclsyntax.TokenOBrack, hclsyntax.TokenOParen:
			kept = true
			depth++
		case hclsyntax.TokenCBrace, hclsyntax.TokenCBrack, hclsyntax.TokenCParen:
			kept = true
			depth--
		case hclsyntax.TokenEqual, hclsyntax.TokenComma, hclsyntax.TokenColon,
			hclsyntax.TokenOQuote, hclsyntax.TokenNewline:
			kept = true
		case hclsyntax.TokenCQuote:
			kept = true
			if i > 0 && tokens[i-1].Type == hclsyntax.TokenOQuote {
				empty = append(empty, start)
			}
		case hclsyntax.TokenStringLit:
			// A line of a heredoc with nothing before its line break.
			if b := bytes.TrimSuffix(t.Bytes, []byte("\n")); len(b) == 0 || string(b) == "\r" {
				empty = append(empty, start)
			}
		case hclsyntax.TokenIdent:
			kept = lineStart && depth == 0 && namesAttributeOrBlock(tokens[i+1:])
		}
		if t.Type != hclsyntax.TokenNewline {
			// A line comment takes its line break with it.
			lineStart = t.Type == hclsyntax.TokenComment && bytes.HasSuffix(t.Bytes, []byte("\n"))
		} else {
			lineStart = true
		}
		for j := start; j < end; j++ {
			covered[j] = true
			keep[j] = kept
		}
	}
	// Line breaks stay wherever they are, so that line numbers stay right
	// even where the lexer gave up; blanks between tokens stay too. A
	// carriage return stays only as part of a line break: elsewhere it
	// would mark a place inside a value.
	for i, b := range src {
		switch {
		case b == '\n', b == '\r' && i+1 < len(src) && src[i+1] == '\n':
			keep[i] = true
		case b == '\r':
			keep[i] = false
		case !covered[i] && (b == ' ' || b == '\t'):
			keep[i] = true
		}
	}

	m := &maskedFile{display: make([]byte, 0, len(src))}
	marker := func(start, end int) {
		m.runs = append(m.runs, maskRun{start: start, end: end, disp: len(m.display)})
		m.display = append(m.display, maskMarker...)
	}
	for i := 0; i < len(src); {
		for len(empty) > 0 && empty[0] < i {
			empty = empty[1:] // inside a masked run already
		}
		if len(empty) > 0 && empty[0] == i {
			empty = empty[1:]
			if keep[i] {
				marker(i, i)
			}
			continue
		}
		if keep[i] {
			m.display = append(m.display, src[i])
			i++
			continue
		}
		j := i
		for j < len(src) && !keep[j] {
			j++
		}
		marker(i, j)
		i = j
	}
	return m
}

// namesAttributeOrBlock says whether an identifier followed by rest is the
// name of an attribute (followed by "=") or the type of a block (followed
// by labels and "{"), rather than a bare value at the start of a line.
func namesAttributeOrBlock(rest hclsyntax.Tokens) bool {
	if len(rest) > 0 && rest[0].Type == hclsyntax.TokenEqual {
		return true
	}
	for i := 0; i < len(rest); i++ {
		switch rest[i].Type {
		case hclsyntax.TokenOBrace:
			return true
		case hclsyntax.TokenIdent, hclsyntax.TokenOQuote, hclsyntax.TokenQuotedLit, hclsyntax.TokenCQuote:
		default:
			return false
		}
	}
	return false
}

// displayRange moves r, a range of the real file, onto the masked copy. A
// bound inside a masked run moves to the edge of its marker, so the range
// covers the whole marker and never tells where inside a value it was; an
// empty range at or in a masked run covers its marker.
func (m *maskedFile) displayRange(r hcl.Range) hcl.Range {
	var start, end int
	if r.Start.Byte == r.End.Byte {
		if run, ok := m.runAt(r.Start.Byte); ok {
			start, end = run.disp, run.disp+len(maskMarker)
		} else {
			start = m.displayStart(r.Start.Byte)
			end = start
		}
	} else {
		start, end = m.displayStart(r.Start.Byte), m.displayEnd(r.End.Byte)
	}
	return hcl.Range{Filename: r.Filename, Start: m.pos(start), End: m.pos(end)}
}

// runAt returns the run that holds offset p, or the empty run at p.
func (m *maskedFile) runAt(p int) (maskRun, bool) {
	i := sort.Search(len(m.runs), func(i int) bool { return m.runs[i].end > p || m.runs[i].end == p && m.runs[i].start == p })
	if i < len(m.runs) && m.runs[i].start <= p {
		return m.runs[i], true
	}
	return maskRun{}, false
}

// displayStart returns where a range that begins at offset p of the real
// file begins in the copy: after the marker of an empty value at p, at the
// marker of a run that holds p.
func (m *maskedFile) displayStart(p int) int {
	shift := 0
	for _, r := range m.runs {
		if p < r.start {
			break
		}
		if p < r.end {
			return r.disp
		}
		shift = r.disp + len(maskMarker) - r.end
	}
	return p + shift
}

// displayEnd returns where a range that ends at offset p of the real file
// ends in the copy: before the marker of an empty value at p, after the
// marker of a run that holds p.
func (m *maskedFile) displayEnd(p int) int {
	shift := 0
	for _, r := range m.runs {
		if p <= r.start {
			break
		}
		if p < r.end {
			return r.disp + len(maskMarker)
		}
		shift = r.disp + len(maskMarker) - r.end
	}
	return p + shift
}

// pos returns the position of offset off in the copy; columns count
// characters of the copy. The copy has the real file's line breaks, so the
// line is the real file's line.
func (m *maskedFile) pos(off int) hcl.Pos {
	off = min(max(off, 0), len(m.display))
	line, lineStart := 1, 0
	for i, b := range m.display[:off] {
		if b == '\n' {
			line, lineStart = line+1, i+1
		}
	}
	return hcl.Pos{Line: line, Column: utf8.RuneCount(m.display[lineStart:off]) + 1, Byte: off}
}

// MaskVarFile returns the file to keep, for diagnostics, in place of the
// parsed variable file f: the same body, with Bytes the copy of f's text
// with its values masked. NewDiagnosticTextWriter quotes lines from that
// copy. A variable file holds secrets; a file kept unmasked would have its
// values quoted in every diagnostic about it.
func MaskVarFile(f *hcl.File) *hcl.File {
	if f == nil {
		return nil
	}
	m := maskValues(f.Bytes)
	// hcl.File.Nav is there for diagnostic formatters: ours finds the
	// masked runs there.
	return &hcl.File{Body: f.Body, Bytes: m.display, Nav: m}
}

// NewDiagnosticTextWriter is hcl.NewDiagnosticTextWriter for the files of
// a Runbook (Runbook.Files). A variable file is kept there as a copy with
// its values masked; before a diagnostic about it is written, its Subject
// and Context are moved onto that copy, so that the snippet underlines the
// right token of the masked line. The line printed is the real file's
// line. Diagnostics about other files are written as they are.
func NewDiagnosticTextWriter(wr io.Writer, files map[string]*hcl.File, width uint, color bool) hcl.DiagnosticWriter {
	return &diagnosticWriter{files: files, w: hcl.NewDiagnosticTextWriter(wr, files, width, color)}
}

type diagnosticWriter struct {
	files map[string]*hcl.File
	w     hcl.DiagnosticWriter
}

func (w *diagnosticWriter) WriteDiagnostic(d *hcl.Diagnostic) error {
	return w.w.WriteDiagnostic(displayDiagnostic(w.files, d))
}

func (w *diagnosticWriter) WriteDiagnostics(diags hcl.Diagnostics) error {
	for _, d := range diags {
		if err := w.WriteDiagnostic(d); err != nil {
			return err
		}
	}
	return nil
}

// displayDiagnostic returns d with its ranges in masked files moved onto
// the masked copies; d itself is left alone.
func displayDiagnostic(files map[string]*hcl.File, d *hcl.Diagnostic) *hcl.Diagnostic {
	if d == nil {
		return nil
	}
	move := func(r *hcl.Range) (*hcl.Range, bool) {
		if r == nil || files[r.Filename] == nil {
			return r, false
		}
		m, ok := files[r.Filename].Nav.(*maskedFile)
		if !ok {
			return r, false
		}
		return m.displayRange(*r).Ptr(), true
	}
	subject, sok := move(d.Subject)
	context, cok := move(d.Context)
	if !sok && !cok {
		return d
	}
	c := *d
	c.Subject, c.Context = subject, context
	return &c
}
