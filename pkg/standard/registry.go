package standard

import (
	"context"
	"os"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/cacproj/cac/pkg/cacerr"
	"github.com/cacproj/cac/pkg/configrepo"
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

// LoadRegistry reads the service registry from ref: a YAML or JSON file holding a list of service
// names, or an http(s) URL answering such a list (fetched once, within 30s, with retries).
func LoadRegistry(ctx context.Context, ref string) (*Registry, error) {
	var data []byte
	var err error
	if strings.HasPrefix(ref, "https://") || strings.HasPrefix(ref, "http://") {
		ctx, cancel := context.WithTimeout(ctx, defaultTimeout)
		defer cancel()
		data, err = httpGet(ctx, nil, ref, "service registry")
		err = configrepo.RedactError(err, ref)
	} else if data, err = os.ReadFile(ref); err != nil {
		err = cacerr.Usage("read service registry: %w", err)
	}
	if err != nil {
		return nil, err
	}
	var names []string
	if err := yaml.Unmarshal(data, &names); err != nil {
		return nil, cacerr.Usage("service registry %s must be a YAML or JSON list of service names ([\"user-center\", ...]): %s", configrepo.Redact(ref), oneLine(err))
	}
	return NewRegistry(configrepo.Redact(ref), names...), nil
}
