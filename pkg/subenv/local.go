package subenv

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// DefaultDir is the root of sub-environments in local mode.
var DefaultDir = filepath.Join("output", "subenv")

// Dir is a tree on disk, the root of local mode (a laptop without a GitOps repo).
type Dir string

// ReadFile reads name below the directory.
func (d Dir) ReadFile(name string) ([]byte, error) {
	return os.ReadFile(filepath.Join(string(d), filepath.FromSlash(name)))
}

// Files lists the files below dir.
func (d Dir) Files(dir string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(filepath.Join(string(d), filepath.FromSlash(dir)), func(p string, e fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil || e.IsDir() {
			return err
		}
		rel, err := filepath.Rel(string(d), p)
		if err != nil {
			return err
		}
		out = append(out, filepath.ToSlash(rel))
		return nil
	})
	sort.Strings(out)
	return out, err
}

// Apply writes and deletes the changes below the directory, removing directories left empty.
func (d Dir) Apply(c Changes) error {
	for _, name := range sortedKeys(c.Write) {
		full := filepath.Join(string(d), filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(full, c.Write[name], 0o644); err != nil {
			return err
		}
	}
	for _, name := range c.Delete {
		full := filepath.Join(string(d), filepath.FromSlash(name))
		if err := os.Remove(full); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		for dir := filepath.Dir(full); dir != filepath.Clean(string(d)) && strings.HasPrefix(dir, filepath.Clean(string(d))); dir = filepath.Dir(dir) {
			if os.Remove(dir) != nil {
				break // not empty
			}
		}
	}
	return nil
}

// Result fills the report's file lists from changes.
func (r *Report) Result(c Changes) {
	r.Written = sortedKeys(c.Write)
	r.Deleted = append([]string{}, c.Delete...)
}

// Report returns the report of the plan (without files, see Result).
func (p *Plan) Report() *Report {
	r := p.report
	return &r
}

// WriteText prints the report for people.
func (r *Report) WriteText(w io.Writer) error {
	if r.Header != "" {
		fmt.Fprintf(w, "sub-environment %s over %s in %s: requests with %s: %s", r.Name, r.Base, r.Where, r.Header, r.Name)
		if r.Baggage != "" {
			fmt.Fprintf(w, " or baggage %s=%s", r.Baggage, r.Name)
		}
		fmt.Fprint(w, " go to it")
		if r.Weight > 0 {
			fmt.Fprintf(w, ", and %d%% of the others", r.Weight)
		}
		if len(r.Gateways) > 0 {
			fmt.Fprintf(w, "; also through %s", strings.Join(r.Gateways, ", "))
		}
		if r.Expires != "" {
			fmt.Fprintf(w, "; expires %s", r.Expires)
		}
		fmt.Fprintln(w)
	} else {
		fmt.Fprintf(w, "deleted sub-environment %s from %s\n", r.Name, r.Where)
	}
	for _, s := range r.Services {
		fmt.Fprintf(w, "  %s (host %s): %s\n", s.Name, s.Host, strings.Join(s.Workloads, ", "))
	}
	for _, f := range r.Written {
		fmt.Fprintf(w, "  wrote %s\n", f)
	}
	for _, f := range r.Deleted {
		fmt.Fprintf(w, "  deleted %s\n", f)
	}
	if r.Commit != "" {
		fmt.Fprintf(w, "  commit %s\n", r.Commit)
	}
	for _, warn := range r.Warnings {
		fmt.Fprintf(w, "warning: %s\n", warn)
	}
	return nil
}

// WriteJSON prints the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error { return writeJSON(w, r) }

// Listing is the output of cac subenv list.
type Listing struct {
	Where   string  `json:"where"`
	Entries []Entry `json:"subenvs"`
}

// WriteText prints one line per route of every sub-environment.
func (l *Listing) WriteText(w io.Writer) error {
	if len(l.Entries) == 0 {
		fmt.Fprintf(w, "no sub-environment in %s\n", l.Where)
		return nil
	}
	for _, e := range l.Entries {
		exp := "no expiry"
		if e.Expires != "" {
			exp = "expires " + e.Expires
			if e.Expired {
				exp = "expired " + e.Expires
			}
		}
		fmt.Fprintf(w, "%s/%s: %s (%s)\n", e.Base, e.Name, strings.Join(e.Services, ", "), exp)
		for _, r := range e.Routes {
			fmt.Fprintf(w, "  %s: %s", r.Host, strings.Join(r.Match, " or "))
			if r.Weight > 0 {
				fmt.Fprintf(w, ", %d%% of the rest", r.Weight)
			}
			if len(r.Gateways) > 0 {
				fmt.Fprintf(w, ", via %s", strings.Join(r.Gateways, ", "))
			}
			fmt.Fprintln(w)
		}
	}
	return nil
}

// WriteJSON prints the listing as indented JSON.
func (l *Listing) WriteJSON(w io.Writer) error { return writeJSON(w, l) }
