package sops

import (
	"bytes"
	"crypto/sha512"
	"fmt"
	"hash"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// MetadataKey is the top-level key holding a SOPS file's metadata.
const MetadataKey = "sops"

// metadata is the part of the sops: mapping cac reads.
type metadata struct {
	Age []struct {
		Recipient string `yaml:"recipient"`
		Enc       string `yaml:"enc"`
	} `yaml:"age"`
	LastModified     string `yaml:"lastmodified"`
	MAC              string `yaml:"mac"`
	MACOnlyEncrypted bool   `yaml:"mac_only_encrypted"`
	EncryptedRegex   string `yaml:"encrypted_regex"`
	Version          string `yaml:"version"`
}

// otherKeyTypes are the master-key kinds sops supports and cac does not.
var otherKeyTypes = []string{"kms", "gcp_kms", "azure_kv", "hc_vault", "huawei_kms", "pgp", "key_groups"}

// file is a parsed SOPS-encrypted YAML document.
type file struct {
	name     string
	data     []byte
	root     *yaml.Node // the top-level mapping
	meta     *yaml.Node // the sops: mapping
	md       metadata
	otherKey []string // other master-key kinds the file lists (kms, pgp ...)
}

// parse reads data as a SOPS file: ok is false for YAML without a sops: mapping holding a mac (a
// plain region file), and for YAML that does not parse (the values loader reports that).
func parse(name string, data []byte) (f *file, ok bool, err error) {
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, false, nil
	}
	root := doc.Content[0]
	meta := field(root, MetadataKey)
	if meta == nil || meta.Kind != yaml.MappingNode || field(meta, "mac") == nil {
		return nil, false, nil
	}
	f = &file{name: name, data: data, root: root, meta: meta}
	if err := meta.Decode(&f.md); err != nil {
		return nil, true, fmt.Errorf("%s: sops metadata: %w", name, err)
	}
	for _, k := range otherKeyTypes {
		if n := field(meta, k); n != nil && n.Kind == yaml.SequenceNode && len(n.Content) > 0 {
			f.otherKey = append(f.otherKey, k)
		}
	}
	return f, true, nil
}

// field returns the value of key in mapping m, or nil.
func field(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// recipients lists the age recipients of the file.
func (f *file) recipients() []string {
	var out []string
	for _, a := range f.md.Age {
		out = append(out, a.Recipient)
	}
	return out
}

// leaf is a scalar value of the document with its sops key path.
type leaf struct {
	node *yaml.Node
	path []string
	flow bool // inside a flow collection ({...} or [...]), where ENC[...] must be quoted
}

// encText is how a sealed value is written in place: quoted inside flow collections, whose
// syntax the commas of ENC[...] would break.
func (l leaf) encText(enc string) string {
	if l.flow {
		return strconv.Quote(enc)
	}
	return enc
}

// aad is the additional data a leaf is sealed with: its path joined by ":", plus ":".
func (l leaf) aad() string { return strings.Join(l.path, ":") + ":" }

// leaves lists the scalar values of the document in the order sops walks them (mapping entries in
// order, list items under their list's path, aliases followed), without the sops: metadata and
// without nulls, which sops neither encrypts nor hashes.
func leaves(root *yaml.Node) []leaf {
	var out []leaf
	var walk func(n *yaml.Node, path []string, flow bool)
	walk = func(n *yaml.Node, path []string, flow bool) {
		flow = flow || n.Style&yaml.FlowStyle != 0
		switch n.Kind {
		case yaml.AliasNode:
			walk(n.Alias, path, flow)
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n == root && n.Content[i].Value == MetadataKey {
					continue
				}
				walk(n.Content[i+1], append(path[:len(path):len(path)], n.Content[i].Value), flow)
			}
		case yaml.SequenceNode:
			for _, it := range n.Content {
				walk(it, path, flow)
			}
		case yaml.ScalarNode:
			if n.ShortTag() != "!!null" {
				out = append(out, leaf{node: n, path: path, flow: flow})
			}
		}
	}
	walk(root, nil, false)
	return out
}

// typedValue is an unencrypted scalar as the sops YAML store reads it (yaml decoded into an
// interface) and as sops.ToBytes writes it: its SOPS type and text. That text is what the MAC
// hashes and what encryption seals.
func typedValue(n *yaml.Node) (typ, text string, err error) {
	var v any
	if err := n.Decode(&v); err != nil {
		return "", "", err
	}
	switch v := v.(type) {
	case string:
		return "str", v, nil
	case int:
		return "int", strconv.Itoa(v), nil
	case float64:
		return "float", strconv.FormatFloat(v, 'f', -1, 64), nil
	case bool:
		if v {
			return "bool", "True", nil
		}
		return "bool", "False", nil
	case time.Time:
		b, err := v.MarshalText()
		return "time", string(b), err
	}
	return "", "", fmt.Errorf("sops cannot store the value %q (%T)", n.Value, v)
}

// newMAC starts a MAC hash for the file's mac_only_encrypted setting.
func newMAC(onlyEncrypted bool) hash.Hash {
	h := sha512.New()
	if onlyEncrypted {
		h.Write(macOnlyEncryptedInit)
	}
	return h
}

// lineStarts returns the byte offset of the start of every line of data (index 0 = line 1).
func lineStarts(data []byte) []int {
	starts := []int{0}
	for i, b := range data {
		if b == '\n' {
			starts = append(starts, i+1)
		}
	}
	return starts
}

// offset converts a yaml.v3 position (1-based line, 1-based column in characters) to a byte offset.
func offset(data []byte, starts []int, line, col int) int {
	if line < 1 || line > len(starts) {
		return -1
	}
	off := starts[line-1]
	for c := 1; c < col && off < len(data); c++ {
		_, size := utf8.DecodeRune(data[off:])
		off += size
	}
	return off
}

// span finds the text of scalar n (its value, plain or quoted) in data: [start, end) byte offsets.
func span(data []byte, starts []int, n *yaml.Node) (int, int, bool) {
	off := offset(data, starts, n.Line, n.Column)
	if off < 0 {
		return 0, 0, false
	}
	if n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		return off, blockEnd(data, starts, n.Line), true
	}
	if end, ok := quotedEnd(data, off); ok { // escapes and line breaks make Value differ from the text
		return off, end, true
	}
	lineEnd := len(data)
	if i := bytes.IndexByte(data[off:], '\n'); i >= 0 {
		lineEnd = off + i
	}
	i := bytes.Index(data[off:lineEnd], []byte(n.Value))
	if i < 0 {
		return 0, 0, false
	}
	start, end := off+i, off+i+len(n.Value)
	if start > 0 && end < len(data) && (data[start-1] == '"' || data[start-1] == '\'') && data[end] == data[start-1] {
		start, end = start-1, end+1
	}
	return start, end, true
}

// quotedEnd is the end (after the closing quote) of the quoted scalar starting at data[off]: "…"
// with backslash escapes, or '…' with ” for a quote; ok is false when data[off] is no quote.
func quotedEnd(data []byte, off int) (int, bool) {
	if off >= len(data) || (data[off] != '"' && data[off] != '\'') {
		return 0, false
	}
	q := data[off]
	for i := off + 1; i < len(data); i++ {
		switch {
		case q == '"' && data[i] == '\\':
			i++
		case data[i] == q && q == '\'' && i+1 < len(data) && data[i+1] == '\'':
			i++
		case data[i] == q:
			return i + 1, true
		}
	}
	return 0, false
}

// blockEnd is the end of a block scalar (| or >) whose indicator is on line: the end of its last
// non-blank line, the block being the following lines indented deeper than line.
func blockEnd(data []byte, starts []int, line int) int {
	indent := func(l int) (int, bool) {
		end := len(data)
		if l < len(starts) {
			end = starts[l] - 1
		}
		text := data[starts[l-1]:end]
		t := bytes.TrimLeft(text, " ")
		return len(text) - len(t), len(bytes.TrimSpace(t)) == 0
	}
	base, _ := indent(line)
	end := lineEndAt(data, starts, line)
	for l := line + 1; l <= len(starts); l++ {
		n, blank := indent(l)
		if blank {
			continue
		}
		if n <= base {
			break
		}
		end = lineEndAt(data, starts, l)
	}
	return end
}

func lineEndAt(data []byte, starts []int, line int) int {
	if line < len(starts) {
		return starts[line] - 1
	}
	return len(data)
}

// replacement is new text for data[start:end].
type replacement struct {
	start, end int
	text       string
}

// apply returns data with the replacements (sorted by start, not overlapping) made.
func apply(data []byte, reps []replacement) []byte {
	var out bytes.Buffer
	last := 0
	for _, r := range reps {
		out.Write(data[last:r.start])
		out.WriteString(r.text)
		last = r.end
	}
	out.Write(data[last:])
	return out.Bytes()
}
