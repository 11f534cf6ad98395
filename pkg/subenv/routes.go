package subenv

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/cacproj/cac/pkg/yamlnode"
)

// The route table of one host in one base region is the pair of Istio objects in
// <root>/<base>/_routes/<host>.yaml: one DestinationRule (subset base plus one per sub-environment)
// and one VirtualService (one route per sub-environment, sorted by name, then the catch-all base
// route, which carries the canary weights). These objects are the only state: create and delete read
// them, change this sub-environment's route and subset, and write them back (docs/design.md §7).

// expiryAnnotation prefixes the annotation of the VirtualService that holds a sub-environment's
// expiry (RFC 3339): expires.subenv.cac.io/<name>.
const expiryAnnotation = "expires.subenv.cac.io/"

const routePrefix = "subenv-" // route name of a sub-environment: subenv-<name>

// meshGateway is Istio's name for the sidecars: a VirtualService bound to gateways needs it too to
// keep routing calls inside the mesh.
const meshGateway = "mesh"

type istioMeta struct {
	Name        string            `yaml:"name"`
	Namespace   string            `yaml:"namespace,omitempty"`
	Labels      map[string]string `yaml:"labels,omitempty"`
	Annotations map[string]string `yaml:"annotations,omitempty"`
}

type destinationRule struct {
	APIVersion string              `yaml:"apiVersion"`
	Kind       string              `yaml:"kind"`
	Metadata   istioMeta           `yaml:"metadata"`
	Spec       destinationRuleSpec `yaml:"spec"`
}

type destinationRuleSpec struct {
	Host    string   `yaml:"host"`
	Subsets []subset `yaml:"subsets"`
}

type subset struct {
	Name   string            `yaml:"name"`
	Labels map[string]string `yaml:"labels"`
}

type virtualService struct {
	APIVersion string             `yaml:"apiVersion"`
	Kind       string             `yaml:"kind"`
	Metadata   istioMeta          `yaml:"metadata"`
	Spec       virtualServiceSpec `yaml:"spec"`
}

type virtualServiceSpec struct {
	Hosts    []string    `yaml:"hosts"`
	Gateways []string    `yaml:"gateways,omitempty"`
	HTTP     []httpRoute `yaml:"http"`
}

type httpRoute struct {
	Name  string        `yaml:"name"`
	Match []httpMatch   `yaml:"match,omitempty"`
	Route []destination `yaml:"route"`
}

type httpMatch struct {
	Headers map[string]stringMatch `yaml:"headers"`
}

type stringMatch struct {
	Exact string `yaml:"exact,omitempty"`
	Regex string `yaml:"regex,omitempty"`
}

type destination struct {
	Destination struct {
		Host   string `yaml:"host"`
		Subset string `yaml:"subset"`
	} `yaml:"destination"`
	Weight int `yaml:"weight,omitempty"`
}

func dest(host, subset string, weight int) destination {
	var d destination
	d.Destination.Host, d.Destination.Subset, d.Weight = host, subset, weight
	return d
}

// routeTable is the parsed state of one host: every sub-environment's route, canary weight and
// subset, plus what the VirtualService says about gateways and hosts.
type routeTable struct {
	host      string
	namespace string
	hosts     []string // VirtualService hosts: host first, then external names
	gateways  []string // without mesh
	routes    map[string]httpRoute
	weights   map[string]int
	expiry    map[string]string
}

func newRouteTable(host, namespace string) *routeTable {
	return &routeTable{host: host, namespace: namespace, hosts: []string{host},
		routes: map[string]httpRoute{}, weights: map[string]int{}, expiry: map[string]string{}}
}

// parseRouteTable reads a routes file written by format. It refuses fields it does not know, so a
// hand edit is reported instead of being dropped on the next write.
func parseRouteTable(file string, data []byte) (*routeTable, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var dr destinationRule
	var vs virtualService
	if err := dec.Decode(&dr); err != nil {
		return nil, fmt.Errorf("%s: DestinationRule: %w", file, err)
	}
	if err := dec.Decode(&vs); err != nil {
		return nil, fmt.Errorf("%s: VirtualService: %w", file, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: want exactly a DestinationRule and a VirtualService", file)
	}
	if dr.Kind != "DestinationRule" || vs.Kind != "VirtualService" || len(vs.Spec.HTTP) == 0 {
		return nil, fmt.Errorf("%s: want a DestinationRule then a VirtualService ending with the base route", file)
	}
	t := newRouteTable(dr.Spec.Host, vs.Metadata.Namespace)
	t.hosts = vs.Spec.Hosts
	for _, g := range vs.Spec.Gateways {
		if g != meshGateway {
			t.gateways = append(t.gateways, g)
		}
	}
	last := vs.Spec.HTTP[len(vs.Spec.HTTP)-1]
	for _, r := range vs.Spec.HTTP[:len(vs.Spec.HTTP)-1] {
		name, ok := strings.CutPrefix(r.Name, routePrefix)
		if !ok {
			return nil, fmt.Errorf("%s: route %q is not a sub-environment's (subenv-NAME)", file, r.Name)
		}
		t.routes[name] = r
	}
	for _, d := range last.Route {
		if d.Destination.Subset != BaseSubset {
			t.weights[d.Destination.Subset] = d.Weight
		}
	}
	for k, v := range vs.Metadata.Annotations {
		if name, ok := strings.CutPrefix(k, expiryAnnotation); ok {
			t.expiry[name] = v
		}
	}
	return t, nil
}

// names lists the sub-environments routed, sorted.
func (t *routeTable) names() []string { return sortedKeys(t.routes) }

// remove drops a sub-environment's route, weight, subset and expiry; it reports whether it was there.
func (t *routeTable) remove(name string) bool {
	_, ok := t.routes[name]
	delete(t.routes, name)
	delete(t.weights, name)
	delete(t.expiry, name)
	return ok
}

// set replaces a sub-environment's entry: its header (and baggage) match, its canary weight, expiry
// (RFC 3339, or "" for none), and gateways and external hosts to add.
func (t *routeTable) set(name string, match []httpMatch, weight int, expiry string, gateways, hosts []string) error {
	t.remove(name)
	total := weight
	for other, w := range t.weights {
		total += w
		if total > 100 {
			return fmt.Errorf("host %s: canary weights add up to more than 100%% with %s at %d%%", t.host, other, w)
		}
	}
	if total > 100 {
		return fmt.Errorf("host %s: canary weights add up to %d%%, more than 100%%", t.host, total)
	}
	var d destination
	d.Destination.Host, d.Destination.Subset = t.host, name
	t.routes[name] = httpRoute{Name: routePrefix + name, Match: match, Route: []destination{d}}
	if weight > 0 {
		t.weights[name] = weight
	}
	if expiry != "" {
		t.expiry[name] = expiry
	}
	t.gateways = union(t.gateways, gateways)
	t.hosts = union(t.hosts, hosts)
	return nil
}

func union(a, b []string) []string {
	out := append([]string(nil), a...)
	for _, s := range b {
		found := false
		for _, x := range out {
			found = found || x == s
		}
		if !found {
			out = append(out, s)
		}
	}
	return out
}

// objects returns the DestinationRule and the VirtualService of the table.
func (t *routeTable) objects() (destinationRule, virtualService) {
	meta := istioMeta{Name: t.host + "-subenv", Namespace: t.namespace, Labels: map[string]string{"app.kubernetes.io/managed-by": "cac"}}
	dr := destinationRule{APIVersion: "networking.istio.io/v1", Kind: "DestinationRule", Metadata: meta,
		Spec: destinationRuleSpec{Host: t.host, Subsets: []subset{{Name: BaseSubset, Labels: map[string]string{SubenvLabel: BaseSubset}}}}}
	vsMeta := meta
	if len(t.expiry) > 0 {
		vsMeta.Annotations = map[string]string{}
		for name, at := range t.expiry {
			vsMeta.Annotations[expiryAnnotation+name] = at
		}
	}
	vs := virtualService{APIVersion: "networking.istio.io/v1", Kind: "VirtualService", Metadata: vsMeta,
		Spec: virtualServiceSpec{Hosts: t.hosts}}
	if len(t.gateways) > 0 {
		vs.Spec.Gateways = append(append([]string(nil), t.gateways...), meshGateway)
	}
	base := 100
	var canaries []destination
	for _, name := range t.names() {
		dr.Spec.Subsets = append(dr.Spec.Subsets, subset{Name: name, Labels: map[string]string{SubenvLabel: name}})
		vs.Spec.HTTP = append(vs.Spec.HTTP, t.routes[name])
		if w := t.weights[name]; w > 0 {
			base -= w
			canaries = append(canaries, dest(t.host, name, w))
		}
	}
	last := httpRoute{Name: BaseSubset, Route: []destination{dest(t.host, BaseSubset, 0)}}
	if len(canaries) > 0 {
		last.Route = append([]destination{dest(t.host, BaseSubset, base)}, canaries...)
	}
	vs.Spec.HTTP = append(vs.Spec.HTTP, last)
	return dr, vs
}

// format writes the table as the routes file: the DestinationRule, then the VirtualService.
func (t *routeTable) format() ([]byte, error) {
	dr, vs := t.objects()
	return yamlnode.Marshal(dr, vs)
}
