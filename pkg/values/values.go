// Package values loads region YAML files into trees that remember where every key and value came
// from (file:line:col), layers `_global/<region>.yaml` under `<usn>/<region>.yaml`, and looks up
// placeholder paths.
package values

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/big"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/cacproj/cac/pkg/report"
)

// Kind of a node.
type Kind uint8

const (
	Null Kind = iota
	Scalar
	Map
	List
)

func (k Kind) String() string {
	return [...]string{"null", "scalar", "mapping", "list"}[k]
}

// Node is a YAML value with its position. Mappings keep their key order.
type Node struct {
	Kind   Kind
	Tag    string // YAML tag of a scalar: !!str, !!int, !!float, !!bool, !!null
	Value  string // scalar text as written
	Keys   []string
	Fields map[string]*Node
	Items  []*Node
	Pos    report.Pos // where the value starts
	KeyPos report.Pos // where the key naming this value is (zero for the root and list items)
	// Encrypted marks a scalar stored SOPS-encrypted in its file: a secret whatever the standard
	// says. Ciphertext marks one that is still encrypted (no identity was available): its Value is
	// the ENC[...] text, which no check can judge.
	Encrypted, Ciphertext bool
}

// Field returns the child named key of a mapping, or nil.
func (n *Node) Field(key string) *Node {
	if n == nil || n.Kind != Map {
		return nil
	}
	return n.Fields[key]
}

// Text is a scalar's text as inserted into templates: strings verbatim, numbers in their shortest
// decimal form, bools as true/false.
func (n *Node) Text() string {
	switch n.Tag {
	case "!!bool":
		if strings.EqualFold(n.Value, "true") {
			return "true"
		}
		return "false"
	case "!!int":
		if i, ok := new(big.Int).SetString(strings.ReplaceAll(n.Value, "_", ""), 0); ok {
			return i.String()
		}
	case "!!float":
		if f, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
			return strconv.FormatFloat(f, 'f', -1, 64)
		}
	}
	return n.Value
}

// Interface converts the tree to plain Go values (map[string]any, []any, string, int, float64, bool,
// nil) for expression evaluation.
func (n *Node) Interface() any {
	if n == nil {
		return nil
	}
	switch n.Kind {
	case Map:
		m := make(map[string]any, len(n.Keys))
		for _, k := range n.Keys {
			m[k] = n.Fields[k].Interface()
		}
		return m
	case List:
		l := make([]any, len(n.Items))
		for i, it := range n.Items {
			l[i] = it.Interface()
		}
		return l
	case Scalar:
		switch n.Tag {
		case "!!int":
			if i, err := strconv.ParseInt(n.Text(), 10, 64); err == nil {
				return int(i)
			}
		case "!!float":
			if f, err := strconv.ParseFloat(n.Text(), 64); err == nil {
				return f
			}
		case "!!bool":
			return n.Text() == "true"
		}
		return n.Value
	}
	return nil
}

// Parse reads one YAML document. The top level must be a mapping (an empty file is an empty mapping).
// Problems are returned as findings positioned in file.
func Parse(file string, data []byte) (*Node, []report.Finding) {
	if !utf8.Valid(data) {
		line := 1 + bytes.Count(data[:invalidAt(data)], []byte("\n"))
		return nil, []report.Finding{finding(report.Pos{File: file, Line: line}, "yaml/encoding",
			"the file is not valid UTF-8; save it as UTF-8")}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, []report.Finding{yamlError(file, data, err)}
	}
	empty := &Node{Kind: Map, Fields: map[string]*Node{}, Pos: report.Pos{File: file, Line: 1, Col: 1}}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return empty, nil
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return empty, nil
	}
	if root.Kind != yaml.MappingNode {
		return nil, []report.Finding{finding(report.Pos{File: file, Line: root.Line, Col: root.Column}, "yaml/structure",
			"the top level of a region file must be a mapping of keys to values (key: value)")}
	}
	c := converter{file: file}
	n := c.convert(root, 0)
	if sopsFile(n) {
		stripSOPS(n)
	}
	return n, c.problems
}

// sopsMetadataKey is the top-level key of a SOPS-encrypted file's metadata.
const sopsMetadataKey = "sops"

// sopsFile reports whether the top level holds SOPS metadata: a sops mapping with a mac.
func sopsFile(n *Node) bool {
	m := n.Field(sopsMetadataKey)
	return m != nil && m.Field("mac") != nil
}

// stripSOPS removes the metadata of a SOPS file and marks its values still encrypted
// (ENC[AES256_GCM,...]) as Encrypted and Ciphertext.
func stripSOPS(n *Node) {
	delete(n.Fields, sopsMetadataKey)
	n.Keys = slices.DeleteFunc(n.Keys, func(k string) bool { return k == sopsMetadataKey })
	n.Walk(func(_ string, v *Node) bool {
		if v.Kind == Scalar && strings.HasPrefix(v.Value, "ENC[AES256_GCM,") {
			v.Encrypted, v.Ciphertext = true, true
		}
		return true
	})
}

const (
	maxDepth = 64
	maxNodes = 1 << 18 // bounds alias expansion ("billion laughs"); no region file comes near
)

type converter struct {
	file     string
	problems []report.Finding
	nodes    int
}

func (c *converter) pos(n *yaml.Node) report.Pos {
	return report.Pos{File: c.file, Line: n.Line, Col: n.Column}
}

func (c *converter) convert(y *yaml.Node, depth int) *Node {
	c.nodes++
	if c.nodes == maxNodes {
		c.problems = append(c.problems, finding(c.pos(y), "yaml/structure",
			fmt.Sprintf("the file expands to more than %d values (aliases repeated too often?)", maxNodes)))
	}
	if c.nodes >= maxNodes {
		return &Node{Kind: Null, Pos: c.pos(y)}
	}
	if depth > maxDepth {
		c.problems = append(c.problems, finding(c.pos(y), "yaml/structure",
			fmt.Sprintf("values are nested more than %d levels deep", maxDepth)))
		return &Node{Kind: Null, Pos: c.pos(y)}
	}
	if y.Kind == yaml.AliasNode {
		n := c.convert(y.Alias, depth+1)
		n.Pos = c.pos(y)
		return n
	}
	n := &Node{Pos: c.pos(y)}
	switch y.Kind {
	case yaml.ScalarNode:
		n.Kind, n.Tag, n.Value = Scalar, y.ShortTag(), y.Value
		if n.Tag == "!!null" {
			n.Kind = Null
		}
	case yaml.SequenceNode:
		n.Kind = List
		for _, it := range y.Content {
			n.Items = append(n.Items, c.convert(it, depth+1))
		}
	case yaml.MappingNode:
		n.Kind, n.Fields = Map, map[string]*Node{}
		merged := map[string]bool{} // keys that came from a merge key (<<), which explicit keys override
		for i := 0; i+1 < len(y.Content); i += 2 {
			k, v := y.Content[i], y.Content[i+1]
			if k.Kind != yaml.ScalarNode {
				c.problems = append(c.problems, finding(c.pos(k), "yaml/structure", "a key must be a plain name, not a list or mapping"))
				continue
			}
			if k.Value == "<<" && k.ShortTag() == "!!merge" {
				c.merge(n, v, depth, merged)
				continue
			}
			child := c.convert(v, depth+1)
			child.KeyPos = c.pos(k)
			if prev, dup := n.Fields[k.Value]; dup {
				if !merged[k.Value] {
					c.problems = append(c.problems, finding(c.pos(k), "yaml/duplicate-key",
						fmt.Sprintf("key %q is already defined at line %d; keep one of them", k.Value, prev.KeyPos.Line)))
				}
				n.Fields[k.Value] = child
				delete(merged, k.Value)
				continue
			}
			n.Keys = append(n.Keys, k.Value)
			n.Fields[k.Value] = child
		}
	}
	return n
}

// merge applies a YAML merge key (<<: *anchor, or a list of them); explicit keys win.
func (c *converter) merge(into *Node, v *yaml.Node, depth int, merged map[string]bool) {
	srcs := []*yaml.Node{v}
	if v.Kind == yaml.SequenceNode {
		srcs = v.Content
	}
	for _, s := range srcs {
		m := c.convert(s, depth+1)
		if m.Kind != Map {
			c.problems = append(c.problems, finding(c.pos(s), "yaml/structure", "a merge key (<<) must refer to a mapping"))
			continue
		}
		for _, k := range m.Keys {
			if _, ok := into.Fields[k]; !ok {
				into.Keys = append(into.Keys, k)
				into.Fields[k] = m.Fields[k]
				merged[k] = true
			}
		}
	}
}

func finding(p report.Pos, rule, msg string) report.Finding {
	return report.Finding{Pos: p, Rule: rule, Message: msg, Severity: report.SeverityError}
}

var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// yamlError turns a yaml.v3 error into a finding. yaml.v3 names no line for problems on the first
// line and for unknown anchors; those are located in data (line 1 when nothing better is known).
func yamlError(file string, data []byte, err error) report.Finding {
	var te *yaml.TypeError
	msg := err.Error()
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	p := report.Pos{File: file, Line: 1}
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		p.Line, _ = strconv.Atoi(m[1])
		msg = m[2]
		if parserError(msg) {
			p.Line++ // yaml.v3 counts lines from 0 in parser (not scanner) errors
		}
		if last := lastLine(data); p.Line > last {
			p.Line = last // the end of the file: point at its last line
		}
	} else if off := locate(data, msg); off >= 0 {
		p.Line = 1 + bytes.Count(data[:off], []byte("\n"))
		p.Col = 1 + utf8.RuneCount(data[bytes.LastIndexByte(data[:off], '\n')+1:off])
	}
	return finding(p, "yaml/syntax", "invalid YAML: "+msg)
}

// lastLine is the number of the last line of data that has any text.
func lastLine(data []byte) int {
	return max(1, bytes.Count(bytes.TrimRight(data, "\r\n"), []byte("\n"))+1)
}

// parserError reports whether msg is one of yaml.v3's parser errors (see its parserc.go), whose line
// numbers are 0-based where its scanner errors' are 1-based.
func parserError(msg string) bool {
	switch msg {
	case "did not find expected <document start>", "did not find expected node content", "did not find expected '-' indicator",
		"did not find expected key", "did not find expected ',' or ']'", "did not find expected ',' or '}'",
		"found duplicate %YAML directive", "found incompatible YAML document", "found duplicate %TAG directive", "found undefined tag handle":
		return true
	}
	return false
}

var unknownAnchor = regexp.MustCompile(`^unknown anchor '(.*)' referenced$`)

// locate finds the offset in data of the problem msg describes, or -1.
func locate(data []byte, msg string) int {
	if m := unknownAnchor.FindStringSubmatch(msg); m != nil {
		return bytes.Index(data, []byte("*"+m[1]))
	}
	if msg == "control characters are not allowed" {
		return bytes.IndexFunc(data, func(r rune) bool {
			return (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || (r >= 0x7f && r <= 0x9f) || r == 0xfffe || r == 0xffff
		})
	}
	return -1
}

func invalidAt(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return len(b)
}

// Merge layers trees: later layers win. Mappings merge key by key (recursively); lists and scalars
// replace. The inputs are not modified.
func Merge(layers ...*Node) *Node {
	var out *Node
	for _, l := range layers {
		if l == nil {
			continue
		}
		out = merge(out, l)
	}
	if out == nil {
		out = &Node{Kind: Map, Fields: map[string]*Node{}}
	}
	return out
}

func merge(a, b *Node) *Node {
	if a == nil || a.Kind != Map || b.Kind != Map {
		return b
	}
	m := &Node{Kind: Map, Fields: make(map[string]*Node, len(a.Keys)+len(b.Keys)), Pos: b.Pos, KeyPos: b.KeyPos}
	for _, k := range a.Keys {
		m.Keys = append(m.Keys, k)
		m.Fields[k] = a.Fields[k]
	}
	for _, k := range b.Keys {
		if old, ok := m.Fields[k]; ok {
			m.Fields[k] = merge(old, b.Fields[k])
			continue
		}
		m.Keys = append(m.Keys, k)
		m.Fields[k] = b.Fields[k]
	}
	return m
}

// LookupError explains why a path has no leaf value.
type LookupError struct {
	Path    string
	Rule    string // placeholder/unresolved or placeholder/not-leaf
	Message string
	At      *Node // the node found, when it was not a leaf
}

func (e *LookupError) Error() string { return e.Message }

// Lookup finds the node at a dotted path. Numeric segments index lists.
func (n *Node) Lookup(path string) (*Node, error) {
	cur := n
	segs := strings.Split(path, ".")
	for i, s := range segs {
		var next *Node
		switch cur.Kind {
		case Map:
			next = cur.Fields[s]
		case List:
			if idx, err := strconv.Atoi(s); err == nil && idx >= 0 && idx < len(cur.Items) {
				next = cur.Items[idx]
			}
		}
		if next == nil {
			return nil, &LookupError{Path: path, Rule: "placeholder/unresolved", Message: missing(cur, segs, i)}
		}
		cur = next
	}
	return cur, nil
}

func missing(cur *Node, segs []string, i int) string {
	where := "the values"
	if i > 0 {
		where = strings.Join(segs[:i], ".")
	}
	switch cur.Kind {
	case Map:
		if len(cur.Keys) == 0 {
			return fmt.Sprintf("no value: %s is empty", where)
		}
		return fmt.Sprintf("no value: %s has no key %q (it has %s)", where, segs[i], keyList(cur.Keys))
	case List:
		return fmt.Sprintf("no value: %s is a list of %d items; index it with 0..%d", where, len(cur.Items), len(cur.Items)-1)
	}
	return fmt.Sprintf("no value: %s is a single value, not a mapping", where)
}

func keyList(keys []string) string {
	const max = 8
	q := make([]string, 0, max)
	for i, k := range keys {
		if i == max {
			q = append(q, fmt.Sprintf("and %d more", len(keys)-max))
			break
		}
		q = append(q, k)
	}
	return strings.Join(q, ", ")
}

// Leaf looks up path and returns its text; mappings, lists and nulls are errors.
func (n *Node) Leaf(path string) (string, *Node, error) {
	v, err := n.Lookup(path)
	if err != nil {
		return "", nil, err
	}
	if v.Kind != Scalar {
		return "", v, &LookupError{Path: path, Rule: "placeholder/not-leaf", At: v,
			Message: fmt.Sprintf("%s is a %s, not a single value; a placeholder must name a leaf such as %s", path, v.Kind, example(path, v))}
	}
	return v.Text(), v, nil
}

func example(path string, v *Node) string {
	switch v.Kind {
	case Map:
		if len(v.Keys) > 0 {
			return path + "." + v.Keys[0]
		}
	case List:
		if len(v.Items) > 0 {
			return path + ".0"
		}
	}
	return "a string, number or boolean"
}

// Walk calls fn for every node below n (depth first, keys in order) with its dotted path.
func (n *Node) Walk(fn func(path string, v *Node) bool) {
	walk(n, "", fn)
}

func walk(n *Node, path string, fn func(string, *Node) bool) {
	if path != "" && !fn(path, n) {
		return
	}
	prefix := path
	if prefix != "" {
		prefix += "."
	}
	switch n.Kind {
	case Map:
		for _, k := range n.Keys {
			walk(n.Fields[k], prefix+k, fn)
		}
	case List:
		for i, it := range n.Items {
			walk(it, prefix+strconv.Itoa(i), fn)
		}
	}
}

// With returns a copy of the map value with the given built-in mapping placed under key (e.g. "_cac").
func (n *Node) With(key string, child *Node) *Node {
	m := &Node{Kind: Map, Fields: make(map[string]*Node, len(n.Keys)+1), Pos: n.Pos}
	for _, k := range n.Keys {
		m.Keys = append(m.Keys, k)
		m.Fields[k] = n.Fields[k]
	}
	if _, ok := m.Fields[key]; !ok {
		m.Keys = append(m.Keys, key)
	}
	m.Fields[key] = child
	return m
}

// Strings builds a mapping of string scalars (for built-ins such as _cac.region).
func Strings(kv ...string) *Node {
	m := &Node{Kind: Map, Fields: map[string]*Node{}}
	for i := 0; i+1 < len(kv); i += 2 {
		m.Keys = append(m.Keys, kv[i])
		m.Fields[kv[i]] = &Node{Kind: Scalar, Tag: "!!str", Value: kv[i+1]}
	}
	return m
}
