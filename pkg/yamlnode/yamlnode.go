// Package yamlnode edits yaml.v3 node trees in place, so that edits keep comments and key order:
// mapping field lookup, set and remove by a dotted path of keys, node builders, and the one YAML
// writer with the project's indentation.
package yamlnode

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// Indent is the indentation of the YAML files cac writes.
const Indent = 2

// Field returns the value of key in the mapping m, or nil (also when m is nil or not a mapping).
func Field(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// Get returns the value node at a dotted path of mapping keys below top, or nil.
func Get(top *yaml.Node, path string) *yaml.Node {
	n := top
	for _, seg := range strings.Split(path, ".") {
		n = Field(n, seg)
		if n == nil {
			return nil
		}
	}
	return n
}

// Set puts value at a dotted path below the mapping top, creating mappings on the way; a scalar in the
// way is replaced by a mapping. An existing value node is overwritten in place.
func Set(top *yaml.Node, path string, value *yaml.Node) {
	n := top
	segs := strings.Split(path, ".")
	for i, seg := range segs {
		last := i == len(segs)-1
		child := Field(n, seg)
		switch {
		case child == nil:
			child = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
			if last {
				child = value
			}
			n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: seg}, child)
		case last:
			*child = *value
		case child.Kind != yaml.MappingNode:
			*child = yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		}
		n = child
	}
}

// Remove deletes the key at a dotted path below top and then every mapping left empty by it; it
// reports whether the key was there.
func Remove(top *yaml.Node, path string) bool {
	return removeIn(top, strings.Split(path, "."))
}

func removeIn(m *yaml.Node, segs []string) bool {
	if m.Kind != yaml.MappingNode {
		return false
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value != segs[0] {
			continue
		}
		v := m.Content[i+1]
		if len(segs) > 1 {
			if !removeIn(v, segs[1:]) {
				return false
			}
			if v.Kind != yaml.MappingNode || len(v.Content) > 0 {
				return true
			}
		}
		m.Content = append(m.Content[:i], m.Content[i+2:]...)
		return true
	}
	return false
}

// Encode encodes a Go value (a string, bool, number, or a struct or map) as a YAML node; a value
// yaml.v3 cannot encode becomes its fmt.Sprint text.
func Encode(v any) *yaml.Node {
	n := &yaml.Node{}
	if err := n.Encode(v); err != nil {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: fmt.Sprint(v)}
	}
	return n
}

// ParseScalar reads text as a YAML scalar: 3306 is an int, true a bool, anything else (or anything
// not a plain scalar) a string.
func ParseScalar(text string) *yaml.Node {
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(text), &n); err == nil && len(n.Content) == 1 && n.Content[0].Kind == yaml.ScalarNode && n.Content[0].Tag != "!!null" {
		v := n.Content[0]
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: v.Tag, Value: v.Value, Style: v.Style}
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: text}
}

// Str is a string scalar node; a string with a newline is written as a literal block.
func Str(s string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
	if strings.Contains(s, "\n") {
		n.Style = yaml.LiteralStyle
	}
	return n
}

// OrderedMap builds a mapping node from key, value pairs, in that order. A key is a string; a value
// is a *yaml.Node (used as is), a string (Str), a []any (a sequence of such values), or anything else
// yaml.v3 encodes (it panics on a value that cannot be encoded: callers build these from their own
// data).
func OrderedMap(kv ...any) *yaml.Node {
	m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	for i := 0; i+1 < len(kv); i += 2 {
		m.Content = append(m.Content, Str(kv[i].(string)), value(kv[i+1]))
	}
	return m
}

func value(v any) *yaml.Node {
	switch v := v.(type) {
	case *yaml.Node:
		return v
	case string:
		return Str(v)
	case []any:
		s := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		for _, it := range v {
			s.Content = append(s.Content, value(it))
		}
		return s
	default:
		n := &yaml.Node{}
		if err := n.Encode(v); err != nil {
			panic(fmt.Sprintf("yamlnode: cannot build a node from %T: %v", v, err))
		}
		return n
	}
}

// Marshal writes docs (nodes or Go values) as YAML documents with the project's indentation.
func Marshal(docs ...any) ([]byte, error) {
	return MarshalIndent(Indent, docs...)
}

// MarshalIndent writes docs as YAML documents indented by indent spaces.
func MarshalIndent(indent int, docs ...any) ([]byte, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(indent)
	for _, d := range docs {
		if err := enc.Encode(d); err != nil {
			return nil, err
		}
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// FromJSON writes v (through its JSON form, so field names and order follow the json tags) as
// block-style YAML.
func FromJSON(v any) ([]byte, error) {
	j, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var n yaml.Node
	if err := yaml.Unmarshal(j, &n); err != nil {
		return nil, err
	}
	var plain func(*yaml.Node)
	plain = func(n *yaml.Node) {
		n.Style = 0
		if n.Kind == yaml.ScalarNode && strings.Contains(n.Value, "\n") {
			n.Style = yaml.LiteralStyle
		}
		for _, c := range n.Content {
			plain(c)
		}
	}
	plain(&n)
	return Marshal(&n)
}
