package envs

import (
	"fmt"

	"gopkg.in/yaml.v3"

	"github.com/cacproj/cac/pkg/yamlnode"
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

func (d *doc) bytes() ([]byte, error) { return yamlnode.Marshal(&d.root) }

// get returns the value node at a dotted path of mapping keys, or nil.
func (d *doc) get(path string) *yaml.Node { return yamlnode.Get(d.top(), path) }

// set puts value at path, creating mappings on the way (yamlnode.Set); the comments written beside an
// old value stay.
func (d *doc) set(path string, value *yaml.Node) {
	if old := d.get(path); old != nil {
		value.LineComment, value.HeadComment, value.FootComment = old.LineComment, old.HeadComment, old.FootComment
	}
	yamlnode.Set(d.top(), path, value)
}

// remove deletes the key at path and then every mapping left empty by it; it reports whether the key
// was there.
func (d *doc) remove(path string) bool { return yamlnode.Remove(d.top(), path) }
