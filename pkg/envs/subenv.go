package envs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/cacproj/cac/pkg/cacerr"
	"github.com/cacproj/cac/pkg/pipeline"
)

// SubenvLabel marks the pods of a sub-environment (value: its name) and of the base (value: BaseSubset).
const SubenvLabel = "cac.io/subenv"

// BaseSubset is the Istio subset of the base environment's pods; they must carry SubenvLabel: base.
const BaseSubset = "base"

// DefaultHeader is the request header that selects a sub-environment.
const DefaultHeader = "x-cac-env"

// SubenvOptions say which sub-environment to generate and from what.
type SubenvOptions struct {
	Name     string   // sub-environment name: a DNS label, not "base"
	Base     string   // the base region
	Services []string // services to deploy in the sub-environment (workload name or app label)
	Header   string   // request header routing to the sub-environment; default DefaultHeader
	// Weight > 0 also sends Weight% of the requests without the header to the sub-environment
	// (a canary); the header match always routes 100% to it.
	Weight int
	// Output is the cac build output (pipeline.ReadOutput): the manifests are its Base region's
	// files under a deploy/ directory, **/deploy/**.yaml.
	Output *pipeline.Output
	Dest   string // where to write; default SubenvDir(Name)
}

// SubenvDir is the default output of a sub-environment.
func SubenvDir(name string) string { return filepath.Join("output", "subenv", name) }

// SubenvService is one service of a sub-environment.
type SubenvService struct {
	Name      string   `json:"name"`
	Host      string   `json:"host"`      // the Kubernetes Service routed (VirtualService host)
	Workloads []string `json:"workloads"` // kind/name of the copies
}

// SubenvReport says what subenv create wrote.
type SubenvReport struct {
	Name     string          `json:"name"`
	Base     string          `json:"base"`
	Header   string          `json:"header"`
	Weight   int             `json:"weight,omitempty"`
	Dest     string          `json:"dest"`
	Services []SubenvService `json:"services"`
	Files    []string        `json:"files"`
	Warnings []string        `json:"warnings,omitempty"`
}

var (
	dnsLabel   = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)
	headerName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
)

type manifest struct {
	file string // slash path below the region
	doc  *yaml.Node
}

func (m manifest) str(path ...string) string {
	n := m.doc.Content[0]
	for _, p := range path {
		n = field(n, p)
	}
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}

// PlanSubenv reads the base region's rendered manifests and computes the sub-environment's files
// (slash paths below Dest → content): copies of the services' workloads named <name>-<Name> and
// labelled SubenvLabel: Name (metadata, pod template and selector), and per service an Istio
// DestinationRule (subsets base and Name) and VirtualService (header → Name, the rest → base, plus
// the weighted canary split when Weight > 0).
func PlanSubenv(o SubenvOptions) (*SubenvReport, map[string][]byte, error) {
	if !dnsLabel.MatchString(o.Name) || o.Name == BaseSubset {
		return nil, nil, cacerr.Usage("sub-environment name %q: use a DNS label (a-z, 0-9, -), not %q", o.Name, BaseSubset)
	}
	if o.Header == "" {
		o.Header = DefaultHeader
	}
	o.Header = strings.ToLower(o.Header)
	if !headerName.MatchString(o.Header) {
		return nil, nil, cacerr.Usage("--header %q is not an HTTP header name", o.Header)
	}
	if o.Weight < 0 || o.Weight > 100 {
		return nil, nil, cacerr.Usage("--weight %d: want a percentage 0..100", o.Weight)
	}
	if len(o.Services) == 0 {
		return nil, nil, cacerr.Usage("name the services of the sub-environment with --services a,b")
	}
	if o.Dest == "" {
		o.Dest = SubenvDir(o.Name)
	}
	root := path.Join(filepath.ToSlash(o.Output.Dir), o.Base)
	ms, err := readManifests(o.Output, o.Base)
	if err != nil {
		return nil, nil, err
	}
	rep := &SubenvReport{Name: o.Name, Base: o.Base, Header: o.Header, Weight: o.Weight, Dest: filepath.ToSlash(o.Dest), Files: []string{}}
	copies := map[string][]*yaml.Node{}
	var missing []string
	for _, svc := range o.Services {
		s := SubenvService{Name: svc, Host: svc}
		namespace := ""
		hasHost := false
		for _, m := range ms {
			if !belongs(m, svc) {
				continue
			}
			switch m.str("kind") {
			case "Deployment", "StatefulSet":
				if m.str("spec", "template", "metadata", "labels", SubenvLabel) != BaseSubset {
					rep.Warnings = append(rep.Warnings, fmt.Sprintf("%s %s (%s) has no pod label %s: %s; the base subset routes only to pods with it",
						m.str("kind"), m.str("metadata", "name"), m.file, SubenvLabel, BaseSubset))
				}
				namespace = m.str("metadata", "namespace")
				c := subenvCopy(m.doc, o.Name)
				copies[m.file] = append(copies[m.file], c)
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
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("no Kubernetes Service found for %s; routing assumes host %s", svc, svc))
		}
		rep.Services = append(rep.Services, s)
		copies[path.Join("istio", svc+".yaml")] = istioObjects(s, namespace, o)
	}
	if len(missing) > 0 {
		return nil, nil, cacerr.Usage("services not found in %s: %s (no Deployment or StatefulSet named so or labelled app=<name> under deploy/)",
			root, strings.Join(missing, ", "))
	}
	out := map[string][]byte{}
	for _, f := range sortedKeys(copies) {
		var b bytes.Buffer
		enc := yaml.NewEncoder(&b)
		enc.SetIndent(2)
		for _, d := range copies[f] {
			if err := enc.Encode(d); err != nil {
				return nil, nil, cacerr.Usage("write %s: %w", f, err)
			}
		}
		enc.Close()
		out[f] = b.Bytes()
		rep.Files = append(rep.Files, f)
	}
	return rep, out, nil
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
	d.set("metadata.name", toNode(d.get("metadata.name").Value+"-"+sub))
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
	if v := field(m, key); v != nil {
		*v = *toNode(value)
		return
	}
	m.Content = append(m.Content, toNode(key), toNode(value))
}

func deepCopy(n *yaml.Node) *yaml.Node {
	c := *n
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, ch := range n.Content {
		c.Content[i] = deepCopy(ch)
	}
	return &c
}

// Istio objects, written with the fields of networking.istio.io/v1.
type istioMeta struct {
	Name      string            `yaml:"name"`
	Namespace string            `yaml:"namespace,omitempty"`
	Labels    map[string]string `yaml:"labels"`
}

type istioObject struct {
	APIVersion string    `yaml:"apiVersion"`
	Kind       string    `yaml:"kind"`
	Metadata   istioMeta `yaml:"metadata"`
	Spec       any       `yaml:"spec"`
}

type destinationRuleSpec struct {
	Host    string   `yaml:"host"`
	Subsets []subset `yaml:"subsets"`
}

type subset struct {
	Name   string            `yaml:"name"`
	Labels map[string]string `yaml:"labels"`
}

type virtualServiceSpec struct {
	Hosts []string    `yaml:"hosts"`
	HTTP  []httpRoute `yaml:"http"`
}

type httpRoute struct {
	Name  string        `yaml:"name"`
	Match []httpMatch   `yaml:"match,omitempty"`
	Route []destination `yaml:"route"`
}

type httpMatch struct {
	Headers map[string]map[string]string `yaml:"headers"`
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

func istioObjects(s SubenvService, namespace string, o SubenvOptions) []*yaml.Node {
	meta := istioMeta{Name: s.Name + "-" + o.Name, Namespace: namespace, Labels: map[string]string{SubenvLabel: o.Name}}
	dr := istioObject{APIVersion: "networking.istio.io/v1", Kind: "DestinationRule", Metadata: meta,
		Spec: destinationRuleSpec{Host: s.Host, Subsets: []subset{
			{Name: BaseSubset, Labels: map[string]string{SubenvLabel: BaseSubset}},
			{Name: o.Name, Labels: map[string]string{SubenvLabel: o.Name}},
		}}}
	rest := []destination{dest(s.Host, BaseSubset, 0)}
	if o.Weight > 0 {
		rest = []destination{dest(s.Host, BaseSubset, 100-o.Weight), dest(s.Host, o.Name, o.Weight)}
	}
	vs := istioObject{APIVersion: "networking.istio.io/v1", Kind: "VirtualService", Metadata: meta,
		Spec: virtualServiceSpec{Hosts: []string{s.Host}, HTTP: []httpRoute{
			{Name: "subenv-" + o.Name, Match: []httpMatch{{Headers: map[string]map[string]string{o.Header: {"exact": o.Name}}}},
				Route: []destination{dest(s.Host, o.Name, 0)}},
			{Name: BaseSubset, Route: rest},
		}}}
	return []*yaml.Node{toNode(dr), toNode(vs)}
}

// CreateSubenv generates the sub-environment into Dest, replacing what a previous run wrote there
// (written aside, then renamed into place).
func CreateSubenv(o SubenvOptions) (*SubenvReport, error) {
	rep, files, err := PlanSubenv(o)
	if err != nil {
		return nil, err
	}
	dest := filepath.FromSlash(rep.Dest)
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return nil, cacerr.Usage("create %s: %w", rep.Dest, err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dest), ".subenv-*")
	if err != nil {
		return nil, cacerr.Usage("create %s: %w", rep.Dest, err)
	}
	defer os.RemoveAll(tmp)
	for p, data := range files {
		full := filepath.Join(tmp, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return nil, cacerr.Usage("write %s: %w", p, err)
		}
		if err := os.WriteFile(full, data, 0o644); err != nil {
			return nil, cacerr.Usage("write %s: %w", p, err)
		}
	}
	if err := os.RemoveAll(dest); err != nil {
		return nil, cacerr.Usage("replace %s: %w", rep.Dest, err)
	}
	if err := os.Rename(tmp, dest); err != nil {
		return nil, cacerr.Usage("write %s: %w", rep.Dest, err)
	}
	return rep, nil
}

// DeleteSubenv removes a generated sub-environment directory; one that does not exist is a usage error.
func DeleteSubenv(dest string) error {
	if _, err := os.Stat(filepath.Join(dest, "istio")); err != nil {
		return cacerr.Usage("%s is not a generated sub-environment (no istio/ in it)", filepath.ToSlash(dest))
	}
	if err := os.RemoveAll(dest); err != nil {
		return cacerr.Usage("delete %s: %w", filepath.ToSlash(dest), err)
	}
	return nil
}

// WriteText prints the report for people.
func (r *SubenvReport) WriteText(w io.Writer) error {
	fmt.Fprintf(w, "sub-environment %s over %s in %s: requests with %s: %s go to it", r.Name, r.Base, r.Dest, r.Header, r.Name)
	if r.Weight > 0 {
		fmt.Fprintf(w, ", and %d%% of the others", r.Weight)
	}
	fmt.Fprintln(w)
	for _, s := range r.Services {
		fmt.Fprintf(w, "  %s (host %s): %s\n", s.Name, s.Host, strings.Join(s.Workloads, ", "))
	}
	for _, f := range r.Files {
		fmt.Fprintf(w, "  wrote %s\n", f)
	}
	for _, warn := range r.Warnings {
		fmt.Fprintf(w, "warning: %s\n", warn)
	}
	return nil
}

// WriteJSON prints the report as indented JSON.
func (r *SubenvReport) WriteJSON(w io.Writer) error { return writeJSON(w, r) }
