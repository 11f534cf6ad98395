package subenv

import (
	"encoding/json"
	"io"
	"sort"

	"gopkg.in/yaml.v3"

	"github.com/cacproj/cac/pkg/yamlnode"
)

// doc is a manifest as a yaml.v3 node tree, so edits keep comments and key order.
type doc struct {
	root yaml.Node // the document node
}

func (d *doc) top() *yaml.Node { return d.root.Content[0] }

// get returns the value node at a dotted path of mapping keys, or nil.
func (d *doc) get(path string) *yaml.Node { return yamlnode.Get(d.top(), path) }

// set puts value at path, creating mappings on the way (yamlnode.Set).
func (d *doc) set(path string, value *yaml.Node) { yamlnode.Set(d.top(), path, value) }

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
