package migrate

import (
	"bytes"
	"errors"
	"io"
	"path"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Format is how a file's keys are found.
type Format string

const (
	FormatYAML       Format = "yaml"
	FormatJSON       Format = "json"
	FormatTOML       Format = "toml"
	FormatINI        Format = "ini"
	FormatProperties Format = "properties"
	FormatText       Format = "text" // any other text: line and token based
)

// DetectFormat picks the format from a file name's extension.
func DetectFormat(name string) Format {
	switch strings.ToLower(path.Ext(name)) {
	case ".yaml", ".yml":
		return FormatYAML
	case ".json":
		return FormatJSON
	case ".toml":
		return FormatTOML
	case ".ini", ".cfg":
		return FormatINI
	case ".properties":
		return FormatProperties
	}
	return FormatText
}

// span is one value on a line: its raw key path and its byte range in the line (quotes excluded).
type span struct {
	segs       []string
	start, end int
}

// variant is one region's copy of a file, split into lines that keep their endings.
type variant struct {
	region string
	file   string // relative path with forward slashes
	data   []byte
	lines  [][]byte
	spans  [][]span   // values found on each line
	ctx    [][]string // key path a line belongs to (for naming differing tokens), may be nil
}

func splitLines(data []byte) [][]byte {
	var lines [][]byte
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			lines = append(lines, data)
			break
		}
		lines = append(lines, data[:i+1])
		data = data[i+1:]
	}
	return lines
}

// content is a line without its ending (\n or \r\n).
func content(line []byte) []byte {
	line = bytes.TrimSuffix(line, []byte("\n"))
	return bytes.TrimSuffix(line, []byte("\r"))
}

var bom = []byte("\xef\xbb\xbf")

// scan finds the values of every line. A file that does not parse as its format falls back to
// text scanning; ok is false then.
func (v *variant) scan(f Format) bool {
	v.lines = splitLines(v.data)
	v.spans = make([][]span, len(v.lines))
	v.ctx = make([][]string, len(v.lines))
	ok := true
	switch f {
	case FormatYAML, FormatJSON:
		ok = v.scanYAML()
	case FormatTOML:
		v.scanTOML()
	case FormatINI:
		v.scanINI()
	case FormatProperties:
		v.scanProperties()
	}
	if f == FormatText || !ok {
		v.spans = make([][]span, len(v.lines))
		v.ctx = make([][]string, len(v.lines))
		v.scanText()
	}
	return ok
}

// lineText returns line i without its ending and the offset where its text starts (after a BOM).
func (v *variant) lineText(i int) ([]byte, int) {
	c := content(v.lines[i])
	if i == 0 && bytes.HasPrefix(c, bom) {
		return c, len(bom)
	}
	return c, 0
}

func (v *variant) add(i int, segs []string, start, end int) {
	v.spans[i] = append(v.spans[i], span{segs: segs, start: start, end: end})
	v.ctx[i] = segs
}

// scanYAML uses yaml.v3's positions (JSON is YAML too). Only single-line scalars become spans.
func (v *variant) scanYAML() bool {
	var docs []*yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(v.data))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return false
		}
		docs = append(docs, &doc)
	}
	var walk func(n *yaml.Node, segs []string)
	walk = func(n *yaml.Node, segs []string) {
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, segs)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := n.Content[i]
				if k.Kind != yaml.ScalarNode || k.Value == "<<" {
					continue
				}
				child := appendSeg(segs, k.Value)
				if l := k.Line - 1; l >= 0 && l < len(v.lines) {
					v.ctx[l] = child
				}
				walk(n.Content[i+1], child)
			}
		case yaml.SequenceNode:
			names := itemNames(n)
			for i, c := range n.Content {
				walk(c, appendSeg(segs, names[i]))
			}
		case yaml.ScalarNode:
			v.yamlScalar(n, segs)
		}
	}
	for i, d := range docs {
		var segs []string
		if len(docs) > 1 {
			segs = []string{docName(d, i)}
		}
		walk(d, segs)
	}
	return true
}

// itemNames names the items of a list: by their name (or id, key) field when every item is a
// mapping with a distinct one (Kubernetes containers, env), else by index.
func itemNames(seq *yaml.Node) []string {
	names := make([]string, len(seq.Content))
	for _, field := range []string{"name", "id", "key"} {
		seen := map[string]bool{}
		ok := true
		for i, c := range seq.Content {
			var v *yaml.Node
			if c.Kind == yaml.MappingNode {
				v = mapValue(c, field)
			}
			if v == nil || v.Kind != yaml.ScalarNode || v.Value == "" || seen[sanitize(v.Value)] || isIndex(v.Value) {
				ok = false
				break
			}
			seen[sanitize(v.Value)] = true
			names[i] = v.Value
		}
		if ok && len(seq.Content) > 0 {
			return names
		}
	}
	for i := range names {
		names[i] = strconv.Itoa(i)
	}
	return names
}

func isIndex(s string) bool {
	_, err := strconv.Atoi(s)
	return err == nil
}

// docName names one document of a multi-document file: <kind>_<metadata.name> for Kubernetes
// objects, else doc<N>.
func docName(d *yaml.Node, i int) string {
	if len(d.Content) == 1 && d.Content[0].Kind == yaml.MappingNode {
		m := d.Content[0]
		kind, meta := mapValue(m, "kind"), mapValue(m, "metadata")
		if kind != nil && meta != nil && meta.Kind == yaml.MappingNode {
			if name := mapValue(meta, "name"); name != nil && kind.Kind == yaml.ScalarNode && name.Kind == yaml.ScalarNode {
				return kind.Value + "_" + name.Value
			}
		}
	}
	return "doc" + strconv.Itoa(i)
}

func appendSeg(segs []string, s ...string) []string {
	out := make([]string, 0, len(segs)+len(s))
	return append(append(out, segs...), s...)
}

func (v *variant) yamlScalar(n *yaml.Node, segs []string) {
	l := n.Line - 1
	if len(segs) == 0 || l < 0 || l >= len(v.lines) {
		return
	}
	c, off := v.lineText(l)
	// yaml.v3 columns count characters, not bytes.
	i := off
	for col := 1; col < n.Column && i < len(c); col++ {
		_, size := utf8.DecodeRune(c[i:])
		i += size
	}
	switch n.Style {
	case 0, yaml.TaggedStyle:
		if n.Tag == "!!null" && n.Value == "" || !bytes.HasPrefix(c[i:], []byte(n.Value)) {
			return
		}
		v.add(l, segs, i, i+len(n.Value))
	case yaml.LiteralStyle, yaml.FoldedStyle:
		// the block's lines belong to its key
		for j := l + 1; j <= l+strings.Count(n.Value, "\n") && j < len(v.lines); j++ {
			if v.ctx[j] == nil {
				v.ctx[j] = segs
			}
		}
	case yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle:
		if i >= len(c) {
			return
		}
		if end := closeQuote(c, i); end > 0 {
			v.add(l, segs, i+1, end)
		}
	}
}

// closeQuote returns the index of the quote closing the string that opens at c[i], or -1.
// Double quotes honour backslash escapes; single quotes are doubled to escape (YAML).
func closeQuote(c []byte, i int) int {
	q := c[i]
	for j := i + 1; j < len(c); j++ {
		switch {
		case q == '"' && c[j] == '\\':
			j++
		case c[j] == q && q == '\'' && j+1 < len(c) && c[j+1] == '\'':
			j++
		case c[j] == q:
			return j
		}
	}
	return -1
}

func isSpace(b byte) bool { return b == ' ' || b == '\t' }

func skipSpace(c []byte, i int) int {
	for i < len(c) && isSpace(c[i]) {
		i++
	}
	return i
}

func trimRightEnd(c []byte, end int) int {
	for end > 0 && isSpace(c[end-1]) {
		end--
	}
	return end
}

// splitKey splits a dotted key (TOML, INI section) outside quotes and strips the quotes.
func splitKey(k string) []string {
	var segs []string
	var cur strings.Builder
	var q byte
	for i := 0; i < len(k); i++ {
		ch := k[i]
		switch {
		case q != 0 && ch == q:
			q = 0
		case q != 0:
			cur.WriteByte(ch)
		case ch == '"' || ch == '\'':
			q = ch
		case ch == '.':
			segs = append(segs, strings.TrimSpace(cur.String()))
			cur.Reset()
		default:
			cur.WriteByte(ch)
		}
	}
	return append(segs, strings.TrimSpace(cur.String()))
}

// scanTOML reads tables, dotted keys and single-line values; multi-line strings and arrays are left
// to token matching with their key as context.
func (v *variant) scanTOML() {
	var table []string
	arrays := map[string]int{}
	inMulti := "" // closing delimiter of a multi-line string
	var multiKey []string
	depth := 0 // open brackets of a multi-line array
	for i := range v.lines {
		c, off := v.lineText(i)
		if inMulti != "" {
			v.ctx[i] = multiKey
			if bytes.Contains(c, []byte(inMulti)) {
				inMulti = ""
			}
			continue
		}
		if depth > 0 {
			v.ctx[i] = multiKey
			depth += bracketDepth(c[off:])
			continue
		}
		j := skipSpace(c, off)
		if j >= len(c) || c[j] == '#' {
			continue
		}
		if c[j] == '[' {
			double := bytes.HasPrefix(c[j:], []byte("[["))
			closeAt := bytes.IndexByte(c[j:], ']')
			if closeAt < 0 {
				continue
			}
			if double {
				name := strings.Join(splitKey(string(c[j+2:j+closeAt])), ".")
				table = append(splitKey(name), strconv.Itoa(arrays[name]))
				arrays[name]++
			} else {
				table = splitKey(string(c[j+1 : j+closeAt]))
			}
			v.ctx[i] = table
			continue
		}
		eq := keyEnd(c, j, "=")
		if eq < 0 {
			continue
		}
		segs := appendSeg(table, splitKey(string(c[j:eq]))...)
		v.ctx[i] = segs
		s := skipSpace(c, eq+1)
		if s >= len(c) {
			continue
		}
		switch {
		case bytes.HasPrefix(c[s:], []byte(`"""`)) || bytes.HasPrefix(c[s:], []byte(`'''`)):
			delim := string(c[s : s+3])
			if e := bytes.Index(c[s+3:], []byte(delim)); e >= 0 {
				v.add(i, segs, s+3, s+3+e)
			} else {
				inMulti, multiKey = delim, segs
			}
		case c[s] == '"' || c[s] == '\'':
			if e := closeTOMLString(c, s); e > 0 {
				v.add(i, segs, s+1, e)
			}
		case c[s] == '[' || c[s] == '{':
			if d := bracketDepth(c[s:]); d > 0 {
				depth, multiKey = d, segs
				continue
			}
			e := trimRightEnd(c, commentStart(c, s))
			v.add(i, segs, s, e)
		default:
			e := s
			for e < len(c) && !isSpace(c[e]) && c[e] != '#' {
				e++
			}
			v.add(i, segs, s, e)
		}
	}
}

func closeTOMLString(c []byte, i int) int {
	for j := i + 1; j < len(c); j++ {
		if c[i] == '"' && c[j] == '\\' {
			j++
			continue
		}
		if c[j] == c[i] {
			return j
		}
	}
	return -1
}

// keyEnd finds the first of seps outside quotes from i, or -1.
func keyEnd(c []byte, i int, seps string) int {
	var q byte
	for ; i < len(c); i++ {
		switch {
		case q != 0 && c[i] == q:
			q = 0
		case q != 0:
		case c[i] == '"' || c[i] == '\'':
			q = c[i]
		case strings.IndexByte(seps, c[i]) >= 0:
			return i
		}
	}
	return -1
}

// bracketDepth counts [ and { minus ] and } outside strings and comments.
func bracketDepth(c []byte) int {
	d := 0
	for i := 0; i < len(c); i++ {
		switch c[i] {
		case '"', '\'':
			if e := closeTOMLString(c, i); e > 0 {
				i = e
			} else {
				return d
			}
		case '#':
			return d
		case '[', '{':
			d++
		case ']', '}':
			d--
		}
	}
	return d
}

// commentStart is where a # comment starts after i (outside strings), or len(c).
func commentStart(c []byte, i int) int {
	for ; i < len(c); i++ {
		switch c[i] {
		case '"', '\'':
			if e := closeTOMLString(c, i); e > 0 {
				i = e
			} else {
				return len(c)
			}
		case '#':
			return i
		}
	}
	return len(c)
}

// unquoteSpan narrows [s,e) to the inside of matching quotes around it.
func unquoteSpan(c []byte, s, e int) (int, int) {
	if e-s >= 2 && (c[s] == '"' || c[s] == '\'') && c[e-1] == c[s] {
		return s + 1, e - 1
	}
	return s, e
}

func (v *variant) scanINI() {
	var section []string
	for i := range v.lines {
		c, off := v.lineText(i)
		j := skipSpace(c, off)
		if j >= len(c) || c[j] == ';' || c[j] == '#' {
			continue
		}
		if c[j] == '[' {
			if e := bytes.IndexByte(c[j:], ']'); e > 0 {
				section = splitKey(string(c[j+1 : j+e]))
				v.ctx[i] = section
			}
			continue
		}
		eq := bytes.IndexAny(c[j:], "=:")
		if eq <= 0 {
			continue
		}
		segs := appendSeg(section, strings.TrimSpace(string(c[j:j+eq])))
		s, e := unquoteSpan(c, skipSpace(c, j+eq+1), trimRightEnd(c, len(c)))
		if s > e {
			s = e
		}
		v.add(i, segs, s, e)
	}
}

// scanProperties reads Java properties: key=value, key: value, key value; continuation lines are
// left to token matching.
func (v *variant) scanProperties() {
	cont := false
	var contKey []string
	for i := range v.lines {
		c, off := v.lineText(i)
		if cont {
			v.ctx[i] = contKey
			cont = endsWithBackslash(c)
			continue
		}
		j := skipSpace(c, off)
		if j >= len(c) || c[j] == '#' || c[j] == '!' {
			continue
		}
		k := j
		var key strings.Builder
		for ; k < len(c) && c[k] != '=' && c[k] != ':' && !isSpace(c[k]); k++ {
			if c[k] == '\\' && k+1 < len(c) {
				k++
			}
			key.WriteByte(c[k])
		}
		s := skipSpace(c, k)
		if s < len(c) && (c[s] == '=' || c[s] == ':') {
			s = skipSpace(c, s+1)
		}
		segs := strings.Split(key.String(), ".")
		v.ctx[i] = segs
		if endsWithBackslash(c) {
			cont, contKey = true, segs
			continue
		}
		v.add(i, segs, s, max(s, trimRightEnd(c, len(c))))
	}
}

func endsWithBackslash(c []byte) bool {
	n := 0
	for i := len(c) - 1; i >= 0 && c[i] == '\\'; i-- {
		n++
	}
	return n%2 == 1
}

// assignment matches `[export ]NAME = value`, `NAME: value` and nginx-style `name value;` lines.
var assignment = regexp.MustCompile(`^(\s*(?:export\s+|set\s+)?)([A-Za-z_][A-Za-z0-9_.\-]*)(\s*[=:]\s*|\s+)(.*?)(\s*;?\s*)$`)

// scanText finds assignment-like lines in any text (shell, nginx, env files).
func (v *variant) scanText() {
	for i := range v.lines {
		c, off := v.lineText(i)
		m := assignment.FindSubmatchIndex(c[off:])
		if m == nil {
			continue
		}
		s, e := off+m[8], off+m[9]
		if s == e || bytes.HasSuffix(c[s:e], []byte("{")) || c[s] == '#' {
			continue
		}
		s, e = unquoteSpan(c, s, e)
		segs := strings.Split(string(c[off+m[4]:off+m[5]]), ".")
		v.add(i, segs, s, e)
	}
}
