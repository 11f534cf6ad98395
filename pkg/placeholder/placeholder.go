// Package placeholder parses and renders `^cac<<a.b.c>>` placeholders (and the seed syntax
// `^cac{{a.b.c}}`) in templates of any text format. Bytes outside placeholders are kept exactly.
//
// Rules (docs/design.md §2): a path is dot-separated segments of [A-Za-z0-9_-]+ (a numeric segment indexes a
// list); a `^cac` that does not start a well-formed placeholder is an error, never passed through.
package placeholder

import (
	"bytes"
	"fmt"
	"unicode/utf8"
)

// Marker starts every placeholder.
const Marker = "^cac"

var marker = []byte(Marker)

// Syntax tells which delimiters a placeholder used.
type Syntax uint8

const (
	Angle Syntax = iota // ^cac<<path>>
	Brace               // ^cac{{path}} (seed format)
)

// Placeholder is one well-formed placeholder in a template.
type Placeholder struct {
	Path       string // dotted value path, e.g. mysql.main.ip
	Start, End int    // byte offsets of the whole placeholder in the source
	Line, Col  int    // 1-based; Col counts characters (runes)
	Syntax     Syntax
}

// Problem is a placeholder that cannot be parsed or rendered.
type Problem struct {
	Line, Col int
	Path      string // empty when the placeholder could not be parsed
	Rule      string // placeholder/malformed, placeholder/unterminated, or the lookup's rule
	Message   string
	Err       error // the lookup error, when rendering failed
}

// Template is a parsed template: its source and the placeholders in it, in order.
type Template struct {
	src          []byte
	Placeholders []Placeholder
}

// Parse finds every placeholder in src. Problems lists every malformed one; the returned template
// holds the well-formed ones and can still be rendered (callers fail the build on any problem).
func Parse(src []byte) (*Template, []Problem) {
	t := &Template{src: src}
	var problems []Problem
	pos := newPositioner(src)
	for i := 0; ; {
		j := bytes.Index(src[i:], marker)
		if j < 0 {
			break
		}
		start := i + j
		line, col := pos.at(start)
		ph, end, prob := parseAt(src, start)
		if prob != "" {
			problems = append(problems, Problem{Line: line, Col: col, Rule: ruleFor(prob), Message: prob})
			i = start + len(marker)
			continue
		}
		ph.Line, ph.Col = line, col
		t.Placeholders = append(t.Placeholders, ph)
		i = end
	}
	return t, problems
}

const unterminated = "unterminated"

func ruleFor(msg string) string {
	if len(msg) >= len(unterminated) && msg[:len(unterminated)] == unterminated {
		return "placeholder/unterminated"
	}
	return "placeholder/malformed"
}

// parseAt parses the placeholder starting at src[start:] (which begins with the marker).
func parseAt(src []byte, start int) (Placeholder, int, string) {
	rest := src[start+len(marker):]
	var open, close string
	var syn Syntax
	switch {
	case bytes.HasPrefix(rest, []byte("<<")):
		open, close, syn = "<<", ">>", Angle
	case bytes.HasPrefix(rest, []byte("{{")):
		open, close, syn = "{{", "}}", Brace
	default:
		return Placeholder{}, 0, fmt.Sprintf("%q must start a placeholder such as ^cac<<mysql.main.ip>>; found %q", Marker, snippet(src[start:]))
	}
	body := rest[len(open):]
	eol := bytes.IndexAny(body, "\r\n")
	if eol < 0 {
		eol = len(body)
	}
	k := bytes.Index(body[:eol], []byte(close))
	if k < 0 {
		return Placeholder{}, 0, fmt.Sprintf("unterminated placeholder %q: close it with %q on the same line", snippet(src[start:]), close)
	}
	path := body[:k]
	if msg := checkPath(path); msg != "" {
		return Placeholder{}, 0, fmt.Sprintf("bad placeholder %s%s%s%s: %s", Marker, open, path, close, msg)
	}
	end := start + len(marker) + len(open) + k + len(close)
	return Placeholder{Path: string(path), Start: start, End: end, Syntax: syn}, end, ""
}

func checkPath(p []byte) string {
	if len(p) == 0 {
		return "the path is empty; write the value's path, e.g. mysql.main.ip"
	}
	seg := 0
	for i, c := range p {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '-':
			seg++
		case c == '.':
			if seg == 0 {
				return "empty path segment (two dots, or a dot at the start)"
			}
			seg = 0
		case c == ' ' || c == '\t':
			return "spaces are not allowed inside a placeholder"
		default:
			r, _ := utf8.DecodeRune(p[i:])
			return fmt.Sprintf("character %q is not allowed in a path (use letters, digits, _ and -, separated by dots)", r)
		}
	}
	if seg == 0 {
		return "the path ends with a dot"
	}
	return ""
}

func snippet(b []byte) string {
	end := len(b)
	if i := bytes.IndexAny(b, "\r\n"); i >= 0 {
		end = i
	}
	if end > 40 {
		end = 40
		for end > 0 && !utf8.RuneStart(b[end]) {
			end--
		}
		return string(b[:end]) + "…"
	}
	return string(b[:end])
}

// Lookup returns the text to insert for a path, or an error explaining why it cannot.
type Lookup func(path string) (string, error)

// Render replaces every placeholder using lookup. All lookup failures are returned together;
// the output is only meaningful when there are none.
func (t *Template) Render(lookup Lookup) ([]byte, []Problem) {
	if len(t.Placeholders) == 0 {
		return t.src, nil
	}
	out := make([]byte, 0, len(t.src)+len(t.Placeholders)*16)
	var problems []Problem
	last := 0
	for _, ph := range t.Placeholders {
		out = append(out, t.src[last:ph.Start]...)
		v, err := lookup(ph.Path)
		if err != nil {
			problems = append(problems, Problem{Line: ph.Line, Col: ph.Col, Path: ph.Path, Err: err, Message: err.Error()})
		}
		out = append(out, v...)
		last = ph.End
	}
	out = append(out, t.src[last:]...)
	return out, problems
}

// positioner turns byte offsets into 1-based line and rune columns, scanning forward only.
type positioner struct {
	src        []byte
	off        int // offset scanned so far
	line       int
	lineOffset int // offset of the current line's first byte
}

func newPositioner(src []byte) *positioner { return &positioner{src: src, line: 1} }

func (p *positioner) at(off int) (int, int) {
	for {
		i := bytes.IndexByte(p.src[p.off:off], '\n')
		if i < 0 {
			break
		}
		p.line++
		p.lineOffset = p.off + i + 1
		p.off = p.lineOffset
	}
	p.off = off
	lineStart := p.lineOffset
	if lineStart == 0 && bytes.HasPrefix(p.src, []byte("\xef\xbb\xbf")) {
		lineStart = 3 // a BOM is not a column
	}
	return p.line, utf8.RuneCount(p.src[lineStart:off]) + 1
}
