// Package envs manages environments (docs/design.md §6) over a config repo laid out as
// <usn>/<region>.yaml and _global/<region>.yaml: it shows a service's effective values with their
// origins, lists regions, copies a stable region to a new one (image versions included), builds out a
// new region by the standard's delivery rules with a to-do list of manual values, and generates
// sub-environments routed by header with Istio.
package envs

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/cacproj/cac/pkg/values"
)

// Layout is what a config repo holds: for every region, the services with a file for it.
type Layout struct {
	// Services maps usn → region → file (slash path); usn "" is a single-service repo's root files.
	Services map[string]map[string]string
	// Globals maps region → _global file.
	Globals map[string]string
}

// ReadLayout scans fsys (a config repo's root) for region files.
func ReadLayout(fsys fs.FS) (*Layout, error) {
	l := &Layout{Services: map[string]map[string]string{}, Globals: map[string]string{}}
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("read config repo: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		switch {
		case !e.IsDir() && !values.Reserved(name):
			if r, ok := regionOf(name); ok {
				l.add("", r, name)
			}
		case e.IsDir() && name == values.GlobalDir:
			files, err := regionFiles(fsys, name)
			if err != nil {
				return nil, err
			}
			for r, f := range files {
				l.Globals[r] = f
			}
		case e.IsDir() && !values.Reserved(name):
			files, err := regionFiles(fsys, name)
			if err != nil {
				return nil, err
			}
			for r, f := range files {
				l.add(name, r, f)
			}
		}
	}
	return l, nil
}

func (l *Layout) add(usn, region, file string) {
	if l.Services[usn] == nil {
		l.Services[usn] = map[string]string{}
	}
	l.Services[usn][region] = file
}

func regionOf(name string) (string, bool) {
	ext := path.Ext(name)
	if ext != ".yaml" && ext != ".yml" {
		return "", false
	}
	return strings.TrimSuffix(name, ext), true
}

func regionFiles(fsys fs.FS, dir string) (map[string]string, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", dir, err)
	}
	out := map[string]string{}
	for _, e := range entries {
		if e.IsDir() || values.Reserved(e.Name()) {
			continue
		}
		if r, ok := regionOf(e.Name()); ok {
			out[r] = path.Join(dir, e.Name())
		}
	}
	return out, nil
}

// USNs lists the services, sorted.
func (l *Layout) USNs() []string {
	out := make([]string, 0, len(l.Services))
	for u := range l.Services {
		out = append(out, u)
	}
	sort.Strings(out)
	return out
}

// Region is one region of a config repo and the services that have a file for it.
type Region struct {
	Name     string   `json:"region"`
	Global   string   `json:"global,omitempty"` // _global/<region>.yaml when present
	Services []string `json:"services"`
}

// Regions lists every region named by a service file or a _global file, sorted by name.
func (l *Layout) Regions() []Region {
	byName := map[string]*Region{}
	get := func(name string) *Region {
		if byName[name] == nil {
			byName[name] = &Region{Name: name, Services: []string{}}
		}
		return byName[name]
	}
	for r, f := range l.Globals {
		get(r).Global = f
	}
	for _, usn := range l.USNs() {
		for r := range l.Services[usn] {
			rg := get(r)
			rg.Services = append(rg.Services, usn)
		}
	}
	out := make([]Region, 0, len(byName))
	for _, r := range byName {
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// HasRegion reports whether any file exists for region.
func (l *Layout) HasRegion(region string) bool {
	if _, ok := l.Globals[region]; ok {
		return true
	}
	for _, rs := range l.Services {
		if _, ok := rs[region]; ok {
			return true
		}
	}
	return false
}

// ErrUnknownRegion is wrapped by errors about a region the config repo has no file for.
var ErrUnknownRegion = errors.New("unknown region")
