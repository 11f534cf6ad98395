// Package argocd writes the Argo CD objects that sync a service's published directory: one
// Application per service and region, with the destination of the region from the config repo's
// `_regions.yaml` and a sync wave from its start-up order (docs/design.md §6). They are checked
// against Argo CD's own types in the test module test/argocd.
package argocd

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/cacproj/cac/pkg/cacerr"
	"github.com/cacproj/cac/pkg/gitremote"
	"github.com/cacproj/cac/pkg/report"
	"github.com/cacproj/cac/pkg/yamlnode"
)

// Regions is the parsed `_regions.yaml` of a config repo: where each region deploys, and the order in
// which services start (levels; every service of a level before any of the next).
//
//	regions:
//	  sg-prod:
//	    cluster: https://10.0.0.1:6443   # destination server (an https URL) or cluster name
//	    namespace: shop                  # destination namespace
//	    project: prod                    # Argo CD project (default: default)
//	order:
//	  - [mysql-proxy]                    # level 0 → sync-wave "0"
//	  - [user, cart]                     # level 1 → sync-wave "1"
//	  - [web]
type Regions struct {
	Regions map[string]RegionTarget
	// Order lists the service start-up levels; a service's level index is its Argo CD sync wave.
	Order [][]string
}

// RegionTarget is where one region's Applications deploy.
type RegionTarget struct {
	Server    string // destination.server, when cluster is an https URL
	Name      string // destination.name otherwise
	Namespace string
	Project   string
}

// Wave returns the sync wave of usn: its level in Order, or false when the service is not listed.
func (r *Regions) Wave(usn string) (int, bool) {
	for i, level := range r.Order {
		for _, s := range level {
			if s == usn {
				return i, true
			}
		}
	}
	return 0, false
}

var (
	dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	nameRe   = regexp.MustCompile(`^[A-Za-z0-9][-A-Za-z0-9_.]*$`)
)

// FindingsError carries input findings (exit 1); its message lists every one as file:line:col.
type FindingsError struct{ Findings []report.Finding }

func (e *FindingsError) Error() string {
	lines := make([]string, len(e.Findings))
	for i, f := range e.Findings {
		lines[i] = f.String()
	}
	return strings.Join(lines, "\n")
}

// LoadRegions reads a `_regions.yaml`. Every problem is reported at once, positioned as
// path:line:col (path as given, with forward slashes); the error is of kind cacerr.KindFindings.
// A missing file is a usage error.
func LoadRegions(path string) (*Regions, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, cacerr.Usage("read regions file: %w", err)
	}
	return ParseRegions(filepath.ToSlash(path), data)
}

// ParseRegions parses a regions file's content; file names it in findings.
func ParseRegions(file string, data []byte) (*Regions, error) {
	var fs []report.Finding
	add := func(n *yaml.Node, valuePath, rule, format string, args ...any) {
		fs = append(fs, report.Finding{Pos: report.Pos{File: file, Line: n.Line, Col: n.Column}, Path: valuePath,
			Rule: rule, Message: fmt.Sprintf(format, args...), Severity: report.SeverityError})
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, cacerr.Wrap(cacerr.KindFindings, fmt.Errorf("%s: %w", file, err))
	}
	r := &Regions{Regions: map[string]RegionTarget{}}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, cacerr.Wrap(cacerr.KindFindings, &FindingsError{[]report.Finding{{Pos: report.Pos{File: file, Line: 1, Col: 1},
			Rule: "regions/format", Message: "expected a mapping with keys regions and order", Severity: report.SeverityError}}})
	}
	top := doc.Content[0]
	seenRegions := false
	for i := 0; i+1 < len(top.Content); i += 2 {
		k, v := top.Content[i], top.Content[i+1]
		switch k.Value {
		case "regions":
			seenRegions = true
			if v.Kind != yaml.MappingNode {
				add(v, "regions", "regions/format", "regions must be a mapping of region name to {cluster, namespace, project}")
				continue
			}
			for j := 0; j+1 < len(v.Content); j += 2 {
				rk, rv := v.Content[j], v.Content[j+1]
				vp := "regions." + rk.Value
				if !nameRe.MatchString(rk.Value) {
					add(rk, vp, "regions/name", "region name %q may only use letters, digits, '-', '_' and '.'", rk.Value)
				}
				if rv.Kind != yaml.MappingNode {
					add(rv, vp, "regions/format", "region %s must be a mapping with cluster, namespace and project", rk.Value)
					continue
				}
				t := RegionTarget{Project: "default"}
				var cluster *yaml.Node
				for m := 0; m+1 < len(rv.Content); m += 2 {
					fk, fv := rv.Content[m], rv.Content[m+1]
					if fv.Kind != yaml.ScalarNode {
						add(fv, vp+"."+fk.Value, "regions/format", "%s must be a string", fk.Value)
						continue
					}
					switch fk.Value {
					case "cluster":
						cluster = fv
						if strings.HasPrefix(fv.Value, "https://") || strings.HasPrefix(fv.Value, "http://") {
							t.Server = fv.Value
						} else {
							t.Name = fv.Value
						}
					case "namespace":
						t.Namespace = fv.Value
						if !dnsLabel.MatchString(fv.Value) || len(fv.Value) > 63 {
							add(fv, vp+".namespace", "regions/namespace", "namespace %q is not a valid Kubernetes namespace (lower-case letters, digits and '-', at most 63)", fv.Value)
						}
					case "project":
						t.Project = fv.Value
					default:
						add(fk, vp+"."+fk.Value, "regions/unknown-key", "unknown key %q: a region has cluster, namespace and project", fk.Value)
					}
				}
				if cluster == nil || cluster.Value == "" {
					add(rk, vp+".cluster", "regions/required", "region %s needs cluster: an API server URL (https://…) or an Argo CD cluster name", rk.Value)
				}
				if t.Namespace == "" {
					add(rk, vp+".namespace", "regions/required", "region %s needs namespace: the namespace its services deploy to", rk.Value)
				}
				r.Regions[rk.Value] = t
			}
		case "order":
			if v.Kind != yaml.SequenceNode {
				add(v, "order", "regions/format", "order must be a list of levels, each a list of service names, e.g. [[db], [api, worker], [web]]")
				continue
			}
			seen := map[string]bool{}
			for li, lv := range v.Content {
				vp := "order." + strconv.Itoa(li)
				if lv.Kind != yaml.SequenceNode {
					add(lv, vp, "regions/format", "level %d must be a list of service names", li)
					continue
				}
				var level []string
				for _, s := range lv.Content {
					if s.Kind != yaml.ScalarNode || s.Value == "" {
						add(s, vp, "regions/format", "a service name must be a non-empty string")
						continue
					}
					if seen[s.Value] {
						add(s, vp, "regions/duplicate", "service %s is listed twice in order; a service has one start-up level", s.Value)
					}
					seen[s.Value] = true
					level = append(level, s.Value)
				}
				r.Order = append(r.Order, level)
			}
		default:
			add(k, k.Value, "regions/unknown-key", "unknown key %q: _regions.yaml has regions and order", k.Value)
		}
	}
	if !seenRegions {
		add(top, "regions", "regions/required", "no regions: key; list each region's cluster, namespace and project")
	}
	if len(fs) > 0 {
		report.Sort(fs)
		return nil, cacerr.Wrap(cacerr.KindFindings, &FindingsError{fs})
	}
	return r, nil
}

// InCluster is the destination of Applications without `_regions.yaml`: the API server of the
// cluster Argo CD runs in.
const InCluster = "https://kubernetes.default.svc"

// Options configure the Argo CD objects. The zero value gives automated sync with prune and
// self-heal, Applications in namespace argocd.
type Options struct {
	// Regions from LoadRegions; nil sends every region's Application to the in-cluster API server
	// (InCluster), namespace DestNamespace.
	Regions *Regions
	// DestNamespace is the destination namespace without Regions (default: the service's name).
	DestNamespace string
	// RepoURL is the GitOps repo URL Argo CD reads (default: Options.RepoURL); credentials in
	// either are removed.
	RepoURL string
	// Namespace holds the Application objects (default argocd).
	Namespace  string
	ManualSync bool // no automated sync
	NoPrune    bool // automated sync does not delete resources that left git
	NoSelfHeal bool // automated sync does not revert drift in the cluster
}

// Per region one Application per service, rather than an ApplicationSet with a git directory
// generator: every publish then writes only files it owns (no shared generator file for concurrent
// pipelines to fight over), each Application carries its own sync-wave annotation from `order` (a
// directory generator cannot give each generated app a different wave without templatePatch), and
// the app-of-apps in templates/argocd/bootstrap.yaml picks them up from argocd/<region>/.
type Application struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Metadata   metadata `json:"metadata"`
	Spec       appSpec  `json:"spec"`
}

type metadata struct {
	Name        string            `json:"name"`
	Namespace   string            `json:"namespace,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Finalizers  []string          `json:"finalizers,omitempty"`
}

type appSpec struct {
	Project     string      `json:"project"`
	Source      appSource   `json:"source"`
	Destination destination `json:"destination"`
	SyncPolicy  *syncPolicy `json:"syncPolicy,omitempty"`
}

type appSource struct {
	RepoURL        string `json:"repoURL"`
	TargetRevision string `json:"targetRevision"`
	Path           string `json:"path"`
}

type destination struct {
	Server    string `json:"server,omitempty"`
	Name      string `json:"name,omitempty"`
	Namespace string `json:"namespace"`
}

type syncPolicy struct {
	Automated   *automated `json:"automated,omitempty"`
	SyncOptions []string   `json:"syncOptions,omitempty"`
}

type automated struct {
	Prune    bool `json:"prune"`
	SelfHeal bool `json:"selfHeal"`
}

// Render writes the Application of usn in region as YAML: named <usn>-<region>, syncing appPath of
// the GitOps repo (o.RepoURL, else repoURL; credentials removed from either) at branch into the
// region's destination (in-cluster without Regions).
func (o Options) Render(usn, region, appPath, repoURL, branch string) ([]byte, error) {
	t, ok := RegionTarget{Server: InCluster, Namespace: o.DestinationNamespace(usn), Project: "default"}, true
	if o.Regions != nil {
		t, ok = o.Regions.Regions[region]
	}
	if !ok {
		known := make([]string, 0, len(o.Regions.Regions))
		for k := range o.Regions.Regions {
			known = append(known, k)
		}
		sort.Strings(known)
		return nil, cacerr.Usage("region %s is not in _regions.yaml (known: %s); add its cluster, namespace and project there", region, strings.Join(known, ", "))
	}
	ns := o.Namespace
	if ns == "" {
		ns = "argocd"
	}
	if o.RepoURL != "" {
		repoURL = o.RepoURL
	}
	repoURL = gitremote.Redact(repoURL)
	app := Application{
		APIVersion: "argoproj.io/v1alpha1",
		Kind:       "Application",
		Metadata: metadata{
			Name:       usn + "-" + region,
			Namespace:  ns,
			Labels:     map[string]string{"app.kubernetes.io/managed-by": "cac", "cac/usn": usn, "cac/region": region},
			Finalizers: []string{"resources-finalizer.argocd.argoproj.io"},
		},
		Spec: appSpec{
			Project:     t.Project,
			Source:      appSource{RepoURL: repoURL, TargetRevision: branch, Path: appPath},
			Destination: destination{Server: t.Server, Name: t.Name, Namespace: t.Namespace},
			SyncPolicy:  &syncPolicy{SyncOptions: []string{"CreateNamespace=true"}},
		},
	}
	if o.Regions == nil {
		// no start-up order without _regions.yaml
	} else if w, ok := o.Regions.Wave(usn); ok {
		app.Metadata.Annotations = map[string]string{"argocd.argoproj.io/sync-wave": strconv.Itoa(w)}
	}
	if !o.ManualSync {
		app.Spec.SyncPolicy.Automated = &automated{Prune: !o.NoPrune, SelfHeal: !o.NoSelfHeal}
	}
	return yamlnode.FromJSON(app)
}

// Check refuses a DestNamespace that Kubernetes would refuse.
func (o Options) Check() error {
	if ns := o.DestNamespace; ns != "" && (!dnsLabel.MatchString(ns) || len(ns) > 63) {
		return cacerr.Usage("namespace %q is not a valid Kubernetes namespace (lower-case letters, digits and '-', at most 63)", ns)
	}
	return nil
}

// DestinationNamespace is the namespace usn deploys to without Regions: DestNamespace, else usn.
func (o Options) DestinationNamespace(usn string) string {
	if o.DestNamespace != "" {
		return o.DestNamespace
	}
	return usn
}
