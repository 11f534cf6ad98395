package standard

import (
	"sort"

	"gopkg.in/yaml.v3"

	"github.com/cacproj/cac/pkg/cacerr"
)

// Registry is the list of known service names (USNs), for `$key: {usn: true}`.
type Registry struct {
	Source string // where the list came from, for messages
	names  map[string]bool
	sorted []string
}

// NewRegistry builds a registry from names.
func NewRegistry(source string, names ...string) *Registry {
	r := &Registry{Source: source, names: make(map[string]bool, len(names))}
	for _, n := range names {
		if !r.names[n] {
			r.names[n] = true
			r.sorted = append(r.sorted, n)
		}
	}
	sort.Strings(r.sorted)
	return r
}

// Has reports whether usn is a known service.
func (r *Registry) Has(usn string) bool { return r.names[usn] }

// Names lists the known services, sorted.
func (r *Registry) Names() []string { return r.sorted }

// ParseRegistry reads a service registry: a YAML or JSON list of service names. source names
// where data came from (redacted), for messages.
func ParseRegistry(source string, data []byte) (*Registry, error) {
	var names []string
	if err := yaml.Unmarshal(data, &names); err != nil {
		return nil, cacerr.Usage("service registry %s must be a YAML or JSON list of service names ([\"user-center\", ...]): %s", source, oneLine(err))
	}
	return NewRegistry(source, names...), nil
}
