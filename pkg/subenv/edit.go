package subenv

import (
	"errors"
	"io/fs"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/cacproj/cac/pkg/cacerr"
	"github.com/cacproj/cac/pkg/yamlnode"
)

// Reader reads a tree of files: a directory on disk, or the tip of the GitOps repo
// (gitops.Reader has the same methods).
type Reader interface {
	// ReadFile returns a file's content; a missing file is fs.ErrNotExist.
	ReadFile(name string) ([]byte, error)
	// Files lists every file below dir (slash paths from the tree's root, sorted); none when dir is missing.
	Files(dir string) ([]string, error)
}

// Layout of a tree (docs/design.md §7), below a root (the directory of local mode, subenv/ in a
// GitOps repo):
//
//	<base>/<name>/<path>          the workload copies of sub-environment name, <path> as rendered (deploy/app.yaml)
//	<base>/_routes/<host>.yaml    the route table of host: its DestinationRule and VirtualService
//	<base>/kustomization.yaml     every file above, so one Argo CD Application (or kubectl apply -k) takes them all
const (
	routesDir         = "_routes"
	kustomizationFile = "kustomization.yaml"
)

// Changes is what an edit writes and deletes, slash paths from the tree's root.
type Changes struct {
	Write  map[string][]byte
	Delete []string
}

// overlay is a tree with changes applied on top, so steps of one edit see each other's results.
type overlay struct {
	tip Reader
	c   Changes
}

func newOverlay(tip Reader) *overlay {
	return &overlay{tip: tip, c: Changes{Write: map[string][]byte{}}}
}

func (o *overlay) deleted(name string) bool {
	for _, d := range o.c.Delete {
		if d == name {
			return true
		}
	}
	return false
}

func (o *overlay) ReadFile(name string) ([]byte, error) {
	if data, ok := o.c.Write[name]; ok {
		return data, nil
	}
	if o.deleted(name) {
		return nil, fs.ErrNotExist
	}
	return o.tip.ReadFile(name)
}

func (o *overlay) Files(dir string) ([]string, error) {
	files, err := o.tip.Files(dir)
	if err != nil {
		return nil, err
	}
	set := map[string]bool{}
	for _, f := range files {
		if !o.deleted(f) {
			set[f] = true
		}
	}
	for f := range o.c.Write {
		if dir == "" || strings.HasPrefix(f, dir+"/") {
			set[f] = true
		}
	}
	return sortedKeys(set), nil
}

func (o *overlay) write(name string, data []byte) {
	o.c.Write[name] = data
	o.c.Delete = without(o.c.Delete, name)
}

func (o *overlay) remove(name string) {
	delete(o.c.Write, name)
	if !o.deleted(name) {
		o.c.Delete = append(o.c.Delete, name)
	}
}

func without(list []string, s string) []string {
	out := list[:0]
	for _, x := range list {
		if x != s {
			out = append(out, x)
		}
	}
	return out
}

// changes returns the net changes against the tip: unchanged writes and deletes of missing files dropped.
func (o *overlay) changes() (Changes, error) {
	out := Changes{Write: map[string][]byte{}}
	for name, data := range o.c.Write {
		old, err := o.tip.ReadFile(name)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return Changes{}, err
		}
		if err != nil || string(old) != string(data) {
			out.Write[name] = data
		}
	}
	for _, name := range o.c.Delete {
		if _, err := o.tip.ReadFile(name); err == nil {
			out.Delete = append(out.Delete, name)
		}
	}
	sort.Strings(out.Delete)
	return out, nil
}

// Edit computes the creation (or replacement) of the sub-environment in the tree below root: its
// workload files, and its route and subset in the route table of every host it serves (removed from
// the tables of hosts it no longer serves). It reads the route tables from tip, so it gives the right
// result on any tip, and can be recomputed when another pipeline moved it.
func (p *Plan) Edit(tip Reader, root string) (Changes, error) {
	o := p.o
	t := newOverlay(tip)
	dir := path.Join(root, o.Base, o.Name)
	old, err := t.Files(dir)
	if err != nil {
		return Changes{}, err
	}
	for _, f := range old {
		t.remove(f)
	}
	for _, rel := range sortedKeys(p.workloads) {
		data, err := yamlnode.Marshal(nodes(p.workloads[rel])...)
		if err != nil {
			return Changes{}, cacerr.Usage("write %s: %w", rel, err)
		}
		t.write(path.Join(dir, rel), data)
	}
	serves := map[string]bool{}
	for _, s := range p.report.Services {
		serves[s.Host] = true
		file := routesFile(root, o.Base, s.Host)
		rt, err := readRouteTable(t, file)
		if err != nil {
			return Changes{}, err
		}
		if rt == nil {
			rt = newRouteTable(s.Host, p.namespace[s.Host])
		}
		if err := rt.set(o.Name, p.match, o.Weight, p.expires, o.Gateways, o.Hosts); err != nil {
			return Changes{}, cacerr.Usage("%w", err)
		}
		if err := writeRouteTable(t, file, rt); err != nil {
			return Changes{}, err
		}
	}
	if _, err := removeRoutes(t, root, o.Base, o.Name, serves); err != nil {
		return Changes{}, err
	}
	if err := writeKustomization(t, root, o.Base); err != nil {
		return Changes{}, err
	}
	return t.changes()
}

func nodes[T any](list []T) []any {
	out := make([]any, len(list))
	for i, v := range list {
		out[i] = v
	}
	return out
}

func routesFile(root, base, host string) string {
	return path.Join(root, base, routesDir, host+".yaml")
}

// readRouteTable returns the route table in file, or nil when there is none.
func readRouteTable(t Reader, file string) (*routeTable, error) {
	data, err := t.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	rt, err := parseRouteTable(file, data)
	if err != nil {
		return nil, cacerr.Usage("%w", err)
	}
	return rt, nil
}

// writeRouteTable writes the table, or removes its file when no sub-environment is left in it.
func writeRouteTable(t *overlay, file string, rt *routeTable) error {
	if len(rt.routes) == 0 {
		t.remove(file)
		return nil
	}
	data, err := rt.format()
	if err != nil {
		return cacerr.Usage("write %s: %w", file, err)
	}
	t.write(file, data)
	return nil
}

// removeRoutes removes name's route from every route table of base, except those of the hosts in
// keep; it returns the hosts it was removed from.
func removeRoutes(t *overlay, root, base, name string, keep map[string]bool) ([]string, error) {
	files, err := t.Files(path.Join(root, base, routesDir))
	if err != nil {
		return nil, err
	}
	var hosts []string
	for _, f := range files {
		rt, err := readRouteTable(t, f)
		if err != nil {
			return nil, err
		}
		if rt == nil || keep[rt.host] || !rt.remove(name) {
			continue
		}
		hosts = append(hosts, rt.host)
		if err := writeRouteTable(t, f, rt); err != nil {
			return nil, err
		}
	}
	return hosts, nil
}

// writeKustomization lists every file of base in its kustomization.yaml, or removes it when none is left.
func writeKustomization(t *overlay, root, base string) error {
	dir := path.Join(root, base)
	files, err := t.Files(dir)
	if err != nil {
		return err
	}
	k := struct {
		APIVersion string   `yaml:"apiVersion"`
		Kind       string   `yaml:"kind"`
		Resources  []string `yaml:"resources"`
	}{APIVersion: "kustomize.config.k8s.io/v1beta1", Kind: "Kustomization"}
	for _, f := range files {
		rel := strings.TrimPrefix(f, dir+"/")
		if rel != kustomizationFile {
			k.Resources = append(k.Resources, rel)
		}
	}
	file := path.Join(dir, kustomizationFile)
	if len(k.Resources) == 0 {
		t.remove(file)
		return nil
	}
	data, err := yamlnode.Marshal(k)
	if err != nil {
		return err
	}
	t.write(file, data)
	return nil
}

// bases lists the base regions of the tree below root.
func bases(t Reader, root string) ([]string, error) {
	files, err := t.Files(root)
	if err != nil {
		return nil, err
	}
	set := map[string]bool{}
	for _, f := range files {
		rel := strings.TrimPrefix(f, strings.TrimSuffix(root, "/")+"/")
		if root == "" || root == "." {
			rel = f
		}
		if i := strings.Index(rel, "/"); i > 0 {
			set[rel[:i]] = true
		}
	}
	return sortedKeys(set), nil
}

// DeleteEdit computes the removal of sub-environment name from the tree below root, in base or (base
// "") in every base region: its workload files and its routes. A sub-environment that is nowhere is a
// usage error.
func DeleteEdit(tip Reader, root, base, name string) (Changes, error) {
	t := newOverlay(tip)
	found, err := deleteIn(t, root, base, name)
	if err != nil {
		return Changes{}, err
	}
	if !found {
		where := "any base region"
		if base != "" {
			where = "base region " + base
		}
		return Changes{}, cacerr.Usage("no sub-environment %s in %s", name, where)
	}
	return t.changes()
}

func deleteIn(t *overlay, root, base, name string) (bool, error) {
	bs := []string{base}
	if base == "" {
		var err error
		if bs, err = bases(t, root); err != nil {
			return false, err
		}
	}
	found := false
	for _, b := range bs {
		files, err := t.Files(path.Join(root, b, name))
		if err != nil {
			return false, err
		}
		for _, f := range files {
			t.remove(f)
		}
		hosts, err := removeRoutes(t, root, b, name, nil)
		if err != nil {
			return false, err
		}
		if len(files) > 0 || len(hosts) > 0 {
			found = true
			if err := writeKustomization(t, root, b); err != nil {
				return false, err
			}
		}
	}
	return found, nil
}

// GCEdit computes the removal of every sub-environment whose expiry is before now; it returns their
// names (base/name), sorted.
func GCEdit(tip Reader, root string, now time.Time) (Changes, []string, error) {
	list, err := List(tip, root, now)
	if err != nil {
		return Changes{}, nil, err
	}
	t := newOverlay(tip)
	var gone []string
	for _, e := range list {
		if !e.Expired {
			continue
		}
		if _, err := deleteIn(t, root, e.Base, e.Name); err != nil {
			return Changes{}, nil, err
		}
		gone = append(gone, e.Base+"/"+e.Name)
	}
	c, err := t.changes()
	return c, gone, err
}

// Entry is one live sub-environment.
type Entry struct {
	Name     string   `json:"name"`
	Base     string   `json:"base"`
	Services []string `json:"services"` // hosts routed to it
	Routes   []Route  `json:"routes"`
	Expires  string   `json:"expires,omitempty"`
	Expired  bool     `json:"expired,omitempty"`
}

// Route is how requests reach a sub-environment on one host.
type Route struct {
	Host     string   `json:"host"`
	Match    []string `json:"match"` // header: value, or header ~ regex
	Weight   int      `json:"weight,omitempty"`
	Gateways []string `json:"gateways,omitempty"`
}

// List reads the live sub-environments of the tree below root, sorted by base and name. now decides
// Expired.
func List(tip Reader, root string, now time.Time) ([]Entry, error) {
	bs, err := bases(tip, root)
	if err != nil {
		return nil, err
	}
	var out []Entry
	for _, b := range bs {
		byName := map[string]*Entry{}
		entry := func(name string) *Entry {
			if byName[name] == nil {
				byName[name] = &Entry{Name: name, Base: b, Services: []string{}, Routes: []Route{}}
			}
			return byName[name]
		}
		files, err := tip.Files(path.Join(root, b))
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			rel := strings.TrimPrefix(f, path.Join(root, b)+"/")
			dir, _, nested := strings.Cut(rel, "/")
			if nested && dir != routesDir {
				entry(dir)
			}
		}
		routes, err := tip.Files(path.Join(root, b, routesDir))
		if err != nil {
			return nil, err
		}
		for _, f := range routes {
			rt, err := readRouteTable(tip, f)
			if err != nil || rt == nil {
				return nil, err
			}
			for _, name := range rt.names() {
				e := entry(name)
				e.Services = append(e.Services, rt.host)
				r := Route{Host: rt.host, Weight: rt.weights[name], Gateways: rt.gateways}
				for _, m := range rt.routes[name].Match {
					for _, h := range sortedKeys(m.Headers) {
						if m.Headers[h].Exact != "" {
							r.Match = append(r.Match, h+": "+m.Headers[h].Exact)
						} else {
							r.Match = append(r.Match, h+" ~ "+m.Headers[h].Regex)
						}
					}
				}
				e.Routes = append(e.Routes, r)
				if at := rt.expiry[name]; at != "" && (e.Expires == "" || at < e.Expires) {
					e.Expires = at
				}
			}
		}
		for _, name := range sortedKeys(byName) {
			e := byName[name]
			if e.Expires != "" {
				at, err := time.Parse(time.RFC3339, e.Expires)
				if err != nil {
					return nil, cacerr.Usage("sub-environment %s/%s: expiry %q: %w", b, name, e.Expires, err)
				}
				e.Expired = !at.After(now)
			}
			out = append(out, *e)
		}
	}
	return out, nil
}
