// Package settings reads a code repo's project settings, .cac.yaml at its root (docs/design.md §4):
// a mapping of flag names to values, each kept with its file:line:col. The caller says which keys
// exist (cac's flag names); pkg/ knows nothing of the command line.
package settings

import (
	"errors"
	"os"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/cacproj/cac/pkg/cacerr"
)

// File is the settings file at the code repo root.
const File = ".cac.yaml"

// Value is one setting: a scalar, or a list joined with commas, and where it was written.
type Value struct {
	Value     string
	Line, Col int
}

// Read parses the settings file at path; a missing file is no settings (nil, nil). Every key must
// be in known, else the error (exit 2) names the key with file:line:col and lists the known keys.
// Messages name the file as File, not by path: it is the code repo's, wherever it was checked out.
func Read(path string, known []string) (map[string]Value, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, cacerr.Usage("read settings: %w", err)
	}
	return Parse(data, known)
}

// Parse is Read on the file's bytes.
func Parse(data []byte, known []string) (map[string]Value, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, cacerr.Usage("%s: %w", File, err)
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	m := doc.Content[0]
	if m.Kind != yaml.MappingNode {
		return nil, cacerr.Usage("%s:%d: settings must be a mapping of flag names to values", File, m.Line)
	}
	out := map[string]Value{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if !slices.Contains(known, k.Value) {
			names := slices.Clone(known)
			slices.Sort(names)
			return nil, cacerr.Usage("%s:%d:%d: unknown setting %q; settings are flag names: %s", File, k.Line, k.Column, k.Value, strings.Join(slices.Compact(names), ", "))
		}
		switch v.Kind {
		case yaml.ScalarNode:
			out[k.Value] = Value{Value: v.Value, Line: v.Line, Col: v.Column}
		case yaml.SequenceNode:
			var items []string
			for _, it := range v.Content {
				items = append(items, it.Value)
			}
			out[k.Value] = Value{Value: strings.Join(items, ","), Line: v.Line, Col: v.Column}
		default:
			return nil, cacerr.Usage("%s:%d:%d: setting %q must be a value or a list", File, v.Line, v.Column, k.Value)
		}
	}
	return out, nil
}
