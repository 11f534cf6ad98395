package envs

import (
	"bytes"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// doc is a region file as a yaml.v3 node tree, so edits keep comments and key order.
type doc struct {
	root yaml.Node // the document node
}

func parseDoc(name string, data []byte) (*doc, error) {
	d := &doc{}
	if err := yaml.Unmarshal(data, &d.root); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if d.root.Kind == 0 || len(d.root.Content) == 0 || (d.top().Kind == yaml.ScalarNode && d.top().Tag == "!!null") {
		d.root = yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.MappingNode, Tag: "!!map"}}}
	}
	if d.top().Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s: the top level must be a mapping", name)
	}
	return d, nil
}

func (d *doc) top() *yaml.Node { return d.root.Content[0] }

func (d *doc) bytes() ([]byte, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&d.root); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

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
			// keep the comments written beside the old value
			value.LineComment, value.HeadComment, value.FootComment = child.LineComment, child.HeadComment, child.FootComment
			*child = *value
		case child.Kind != yaml.MappingNode:
			*child = yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		}
		n = child
	}
}

// remove deletes the key at path and then every mapping left empty by it; it reports whether the key
// was there.
func (d *doc) remove(path string) bool {
	return removeIn(d.top(), strings.Split(path, "."))
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

// toNode encodes a Go value (a string, bool, number, or a struct or map) as a YAML node.
func toNode(v any) *yaml.Node {
	n := &yaml.Node{}
	if err := n.Encode(v); err != nil {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: fmt.Sprint(v)}
	}
	return n
}

// parseScalar reads the text of a --set value as a YAML scalar: 3306 is an int, true a bool, anything
// else (or anything not a plain scalar) a string.
func parseScalar(text string) *yaml.Node {
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(text), &n); err == nil && len(n.Content) == 1 && n.Content[0].Kind == yaml.ScalarNode && n.Content[0].Tag != "!!null" {
		v := n.Content[0]
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: v.Tag, Value: v.Value, Style: v.Style}
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: text}
}
