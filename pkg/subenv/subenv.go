// Package subenv makes sub-environments: a few services of a base region deployed again under a
// name, with their own images and config, and reached by requests that carry the name in a header
// (or in OpenTelemetry baggage) while every other request goes to the base (docs/design.md §7).
package subenv

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/cacproj/cac/pkg/cacerr"
	"github.com/cacproj/cac/pkg/pipeline"
	"github.com/cacproj/cac/pkg/yamlnode"
)

// SubenvLabel marks the pods of a sub-environment (value: its name) and of the base (value: BaseSubset).
const SubenvLabel = "cac.io/subenv"

// BaseSubset is the Istio subset of the base environment's pods; they must carry SubenvLabel: base.
const BaseSubset = "base"

// DefaultHeader is the request header that selects a sub-environment.
const DefaultHeader = "x-cac-env"

// Options say which sub-environment to create and from what.
type Options struct {
	Name     string   // sub-environment name: a DNS label, not "base"
	Base     string   // the base region
	Services []string // services to deploy in the sub-environment (workload name or app label)
	Header   string   // request header routing to the sub-environment; default DefaultHeader
	// Baggage, when set, also routes requests whose W3C baggage header has the member Baggage=Name.
	Baggage string
	// Weight > 0 also sends Weight% of the requests without the header to the sub-environment
	// (a canary); the header match always routes 100% to it.
	Weight int
	// Gateways (namespace/name) bind the routes to ingress gateways too, for the Hosts (external
	// names) as well as the service's own host.
	Gateways []string
	Hosts    []string
	Images   map[string]string // service → image reference of its container
	TTL      time.Duration     // > 0: the sub-environment expires (see GC) this long after Now
	Now      time.Time         // default time.Now()
	// Output is the rendered output (pipeline.Run or pipeline.ReadOutput): the manifests are its
	// Base region's files under a deploy/ directory, **/deploy/**.yaml.
	Output *pipeline.Output
}

// Service is one service of a sub-environment.
type Service struct {
	Name      string   `json:"name"`
	Host      string   `json:"host"`      // the Kubernetes Service routed (VirtualService host)
	Workloads []string `json:"workloads"` // kind/name of the copies
}

// Report says what create or delete changed.
type Report struct {
	Name     string    `json:"name"`
	Base     string    `json:"base,omitempty"`
	Header   string    `json:"header,omitempty"`
	Baggage  string    `json:"baggage,omitempty"`
	Weight   int       `json:"weight,omitempty"`
	Expires  string    `json:"expires,omitempty"`
	Gateways []string  `json:"gateways,omitempty"`
	Services []Service `json:"services,omitempty"`
	Where    string    `json:"where"` // the directory, or the GitOps repo
	Commit   string    `json:"commit,omitempty"`
	Written  []string  `json:"written"` // files written, sorted, relative to Where
	Deleted  []string  `json:"deleted"` // files deleted
	Warnings []string  `json:"warnings,omitempty"`
}

var (
	dnsLabel   = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)
	headerName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
	gatewayRef = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?/[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`)
	hostName   = regexp.MustCompile(`^(\*\.)?[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`)
)

type manifest struct {
	file string // slash path below <Out>/<Base>
	doc  *yaml.Node
}

func (m manifest) str(path ...string) string {
	n := m.doc.Content[0]
	for _, p := range path {
		n = yamlnode.Field(n, p)
	}
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}

// Plan is a sub-environment computed from the base region's manifests, before it meets the route
// tables of a tree (Edit).
type Plan struct {
	o         Options
	report    Report
	workloads map[string][]*yaml.Node // slash path below <base>/<name>/ → workload copies
	namespace map[string]string       // host → namespace of its workloads
	match     []httpMatch
	expires   string
}

func (o *Options) check() error {
	if !dnsLabel.MatchString(o.Name) || o.Name == BaseSubset {
		return cacerr.Usage("sub-environment name %q: use a DNS label (a-z, 0-9, -), not %q", o.Name, BaseSubset)
	}
	if !dnsLabel.MatchString(o.Base) {
		return cacerr.Usage("base region %q: want a region name", o.Base)
	}
	if o.Header == "" {
		o.Header = DefaultHeader
	}
	o.Header = strings.ToLower(o.Header)
	if !headerName.MatchString(o.Header) {
		return cacerr.Usage("--header %q is not an HTTP header name", o.Header)
	}
	if o.Baggage != "" && !baggageKey.MatchString(o.Baggage) {
		return cacerr.Usage("--baggage %q is not a W3C baggage key (an HTTP token)", o.Baggage)
	}
	if o.Weight < 0 || o.Weight > 100 {
		return cacerr.Usage("--weight %d: want a percentage 0..100", o.Weight)
	}
	if len(o.Services) == 0 {
		return cacerr.Usage("name the services of the sub-environment with --services a,b")
	}
	for _, g := range o.Gateways {
		if !gatewayRef.MatchString(g) {
			return cacerr.Usage("--gateway %q: want NAMESPACE/NAME of an Istio Gateway", g)
		}
	}
	for _, h := range o.Hosts {
		if !hostName.MatchString(h) {
			return cacerr.Usage("--host %q is not a host name", h)
		}
	}
	if len(o.Hosts) > 0 && len(o.Gateways) == 0 {
		return cacerr.Usage("--host names an external host, reached through a gateway: add --gateway NAMESPACE/NAME")
	}
	for svc := range o.Images {
		found := false
		for _, s := range o.Services {
			found = found || s == svc
		}
		if !found {
			return cacerr.Usage("--image %s=...: %s is not among --services %s", svc, svc, strings.Join(o.Services, ","))
		}
	}
	if o.TTL < 0 {
		return cacerr.Usage("--ttl %s: want a positive duration", o.TTL)
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	return nil
}

// PlanSubenv reads the base region's rendered manifests and computes the sub-environment's
// workloads: copies of the services' Deployments and StatefulSets named <name>-<Name>, labelled
// SubenvLabel: Name (metadata, pod template and selector), with the images of Options.Images.
func PlanSubenv(o Options) (*Plan, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	root := path.Join(filepath.ToSlash(o.Output.Dir), o.Base)
	ms, err := readManifests(o.Output, o.Base)
	if err != nil {
		return nil, err
	}
	p := &Plan{o: o, workloads: map[string][]*yaml.Node{}, namespace: map[string]string{}}
	p.report = Report{Name: o.Name, Base: o.Base, Header: o.Header, Baggage: o.Baggage, Weight: o.Weight, Gateways: o.Gateways}
	if o.TTL > 0 {
		p.expires = o.Now.Add(o.TTL).UTC().Truncate(time.Second).Format(time.RFC3339)
		p.report.Expires = p.expires
	}
	p.match = []httpMatch{{Headers: map[string]stringMatch{o.Header: {Exact: o.Name}}}}
	if o.Baggage != "" {
		p.match = append(p.match, httpMatch{Headers: map[string]stringMatch{BaggageHeader: {Regex: BaggageRegex(o.Baggage, o.Name)}}})
	}
	var missing []string
	for _, svc := range o.Services {
		s := Service{Name: svc, Host: svc}
		namespace := ""
		hasHost := false
		for _, m := range ms {
			if !belongs(m, svc) {
				continue
			}
			switch m.str("kind") {
			case "Deployment", "StatefulSet":
				if m.str("spec", "template", "metadata", "labels", SubenvLabel) != BaseSubset {
					p.report.Warnings = append(p.report.Warnings, fmt.Sprintf("%s %s (%s) has no pod label %s: %s; the base subset routes only to pods with it (cac publish adds it to the pod templates it publishes)",
						m.str("kind"), m.str("metadata", "name"), m.file, SubenvLabel, BaseSubset))
				}
				namespace = m.str("metadata", "namespace")
				c := subenvCopy(m.doc, o.Name)
				if ref, ok := o.Images[svc]; ok {
					if err := setImage(c, svc, ref); err != nil {
						return nil, cacerr.Usage("--image %s=%s: %s %s (%s): %w", svc, ref, m.str("kind"), m.str("metadata", "name"), m.file, err)
					}
				}
				p.workloads[m.file] = append(p.workloads[m.file], c)
				s.Workloads = append(s.Workloads, m.str("kind")+"/"+m.str("metadata", "name")+"-"+o.Name)
			case "Service":
				if !hasHost {
					s.Host, hasHost = m.str("metadata", "name"), true
				}
			}
		}
		if len(s.Workloads) == 0 {
			missing = append(missing, svc)
			continue
		}
		if !hasHost {
			p.report.Warnings = append(p.report.Warnings, fmt.Sprintf("no Kubernetes Service found for %s; routing assumes host %s", svc, svc))
		}
		p.report.Services = append(p.report.Services, s)
		p.namespace[s.Host] = namespace
	}
	if len(missing) > 0 {
		return nil, cacerr.Usage("services not found in %s: %s (no Deployment or StatefulSet named so or labelled app=<name> under deploy/)",
			filepath.ToSlash(root), strings.Join(missing, ", "))
	}
	return p, nil
}

// setImage sets the image of the workload's container named svc, or of its only container.
func setImage(w *yaml.Node, svc, ref string) error {
	d := &doc{root: *w}
	cs := d.get("spec.template.spec.containers")
	if cs == nil || cs.Kind != yaml.SequenceNode || len(cs.Content) == 0 {
		return errors.New("no containers in spec.template.spec.containers")
	}
	target := -1
	var names []string
	for i, c := range cs.Content {
		n := yamlnode.Field(c, "name")
		if n != nil {
			names = append(names, n.Value)
			if n.Value == svc {
				target = i
			}
		}
	}
	if target < 0 && len(cs.Content) == 1 {
		target = 0
	}
	if target < 0 {
		return fmt.Errorf("containers %s: none is named %s; which one should run the image?", strings.Join(names, ", "), svc)
	}
	c := &doc{root: yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{cs.Content[target]}}}
	c.set("image", yamlnode.Encode(ref))
	return nil
}

// readManifests decodes the YAML documents of region's rendered manifests (**/deploy/**.yaml).
func readManifests(out *pipeline.Output, region string) ([]manifest, error) {
	if len(out.Tree[region]) == 0 {
		return nil, cacerr.Usage("no rendered manifests of the base region: %s has no region %s (built: %s; run cac build first, or check --out and --base)",
			filepath.ToSlash(out.Dir), region, strings.Join(out.Tree.Regions(), ", "))
	}
	var ms []manifest
	for _, rel := range out.Tree.Paths(region) {
		ext := path.Ext(rel)
		if (ext != ".yaml" && ext != ".yml") || !strings.Contains("/"+rel, "/deploy/") {
			continue
		}
		f, _ := out.Tree.File(region, rel)
		dec := yaml.NewDecoder(bytes.NewReader(f.Data))
		for {
			var doc yaml.Node
			err := dec.Decode(&doc)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, cacerr.Usage("read manifests: %s: %w", rel, err)
			}
			if len(doc.Content) == 1 && doc.Content[0].Kind == yaml.MappingNode {
				ms = append(ms, manifest{file: rel, doc: &doc})
			}
		}
	}
	return ms, nil
}

func belongs(m manifest, svc string) bool {
	return m.str("metadata", "name") == svc || m.str("metadata", "labels", "app") == svc ||
		m.str("metadata", "labels", "app.kubernetes.io/name") == svc
}

// subenvCopy returns a copy of a workload renamed <name>-<sub> with the sub-environment label on
// its metadata, selector and pod template.
func subenvCopy(src *yaml.Node, sub string) *yaml.Node {
	d := &doc{root: *deepCopy(src)}
	d.set("metadata.name", yamlnode.Encode(d.get("metadata.name").Value+"-"+sub))
	for _, p := range []string{"metadata.labels", "spec.selector.matchLabels", "spec.template.metadata.labels"} {
		setKey(d, p, SubenvLabel, sub)
	}
	return &d.root
}

// setKey sets key (which may contain dots, as label names do) in the mapping at path.
func setKey(d *doc, path, key, value string) {
	m := d.get(path)
	if m == nil || m.Kind != yaml.MappingNode {
		d.set(path, &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"})
		m = d.get(path)
	}
	if v := yamlnode.Field(m, key); v != nil {
		*v = *yamlnode.Encode(value)
		return
	}
	m.Content = append(m.Content, yamlnode.Encode(key), yamlnode.Encode(value))
}

func deepCopy(n *yaml.Node) *yaml.Node {
	c := *n
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, ch := range n.Content {
		c.Content[i] = deepCopy(ch)
	}
	return &c
}
