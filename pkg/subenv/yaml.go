package subenv

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// doc is a manifest as a yaml.v3 node tree, so edits keep comments and key order.
type doc struct {
	root yaml.Node // the document node
}

func (d *doc) top() *yaml.Node { return d.root.Content[0] }

// get returns the value node at a dotted path of mapping keys, or nil.
func (d *doc) get(path string) *yaml.Node {
	n := d.top()
	for _, seg := range strings.Split(path, ".") {
		n = field(n, seg)
		if n == nil {
			return nil
		}
	}
	return n
}

// set puts value at path, creating mappings on the way; a scalar in the way is replaced by a mapping.
func (d *doc) set(path string, value *yaml.Node) {
	n := d.top()
	segs := strings.Split(path, ".")
	for i, seg := range segs {
		last := i == len(segs)-1
		child := field(n, seg)
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

func field(m *yaml.Node, key string) *yaml.Node {
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

// toNode encodes a Go value (a string, bool, number, or a struct or map) as a YAML node.
func toNode(v any) *yaml.Node {
	n := &yaml.Node{}
	if err := n.Encode(v); err != nil {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: fmt.Sprint(v)}
	}
	return n
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
