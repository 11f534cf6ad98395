package envs

import (
	"fmt"
	"io"
	"io/fs"
	"strings"
	"text/tabwriter"

	"gopkg.in/yaml.v3"

	"github.com/cacproj/cac/pkg/cacerr"
	"github.com/cacproj/cac/pkg/report"
	"github.com/cacproj/cac/pkg/values"
)

// RuleManual is the rule id of a manual value still missing in a region.
const RuleManual = "delivery/manual"

func readTodo(fsys fs.FS, region string) (*todoFile, []byte, error) {
	data, err := fs.ReadFile(fsys, TodoFile(region))
	if err != nil {
		return nil, nil, err
	}
	var tf todoFile
	if err := yaml.Unmarshal(data, &tf); err != nil {
		return nil, data, err
	}
	return &tf, data, nil
}

// filled reports whether file in fsys has a non-null value at path.
func filled(fsys fs.FS, file, path string, cache map[string]*values.Node) bool {
	n, ok := cache[file]
	if !ok {
		if data, err := fs.ReadFile(fsys, file); err == nil {
			n, _ = values.Parse(file, data)
		}
		cache[file] = n
	}
	for _, seg := range strings.Split(path, ".") {
		n = n.Field(seg)
	}
	return n != nil && n.Kind != values.Null
}

// TodoFindings lists, as findings of rule delivery/manual, the manual values of region still
// unfilled for the service usn (and in the region's _global file): "fill <path> for <usn> in
// <file>: <description>". A region without a _todo file has none; a broken one is a finding itself.
func TodoFindings(fsys fs.FS, usn, region string) []report.Finding {
	tf, data, err := readTodo(fsys, region)
	if data == nil {
		return nil
	}
	if err != nil {
		return []report.Finding{{Pos: report.Pos{File: TodoFile(region)}, Region: region, Rule: RuleManual, Severity: report.SeverityError,
			Message: fmt.Sprintf("the to-do file is not valid YAML (%v); restore it from git or delete it once every value is filled", err)}}
	}
	var out []report.Finding
	cache := map[string]*values.Node{}
	for _, name := range []string{values.GlobalDir, usn} {
		s := tf.Services[name]
		if s == nil {
			continue
		}
		for _, t := range s.Todo {
			if filled(fsys, s.File, t.Path, cache) {
				continue
			}
			out = append(out, report.Finding{Pos: report.Pos{File: s.File}, Region: region, Path: t.Path, Rule: RuleManual,
				Severity: report.SeverityError,
				Message:  fmt.Sprintf("fill %s for %s in %s: %s", t.Path, displayName(name), s.File, t.Description)})
		}
	}
	report.Sort(out)
	return out
}

// Progress is filled / total manual values of one service of a region.
type Progress struct {
	USN     string   `json:"usn"`
	File    string   `json:"file"`
	Owner   string   `json:"owner"`
	Filled  int      `json:"filled"`
	Total   int      `json:"total"`
	Missing []string `json:"missing"`
}

// RegionStatus is how far a region built by region new is filled.
type RegionStatus struct {
	Region   string     `json:"region"`
	Filled   int        `json:"filled"`
	Total    int        `json:"total"`
	Services []Progress `json:"services"`
}

// Status compares the region's _todo file with the values present. A region without one is a usage
// error (it was not built by region new, or its to-do file was deleted when done).
func Status(fsys fs.FS, region string) (*RegionStatus, error) {
	tf, data, err := readTodo(fsys, region)
	if data == nil {
		return nil, cacerr.Usage("region %s has no %s: it was not built by cac region new, or every value was filled and the file deleted", region, TodoFile(region))
	}
	if err != nil {
		return nil, cacerr.Usage("%s: %w", TodoFile(region), err)
	}
	st := &RegionStatus{Region: region, Services: []Progress{}}
	cache := map[string]*values.Node{}
	for _, usn := range sortedKeys(tf.Services) {
		s := tf.Services[usn]
		p := Progress{USN: usn, File: s.File, Owner: s.Owner, Total: len(s.Todo), Missing: []string{}}
		for _, t := range s.Todo {
			if filled(fsys, s.File, t.Path, cache) {
				p.Filled++
			} else {
				p.Missing = append(p.Missing, t.Path)
			}
		}
		st.Filled += p.Filled
		st.Total += p.Total
		st.Services = append(st.Services, p)
	}
	return st, nil
}

// WriteText prints filled/total per service and overall.
func (s *RegionStatus) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "SERVICE\tOWNER\tFILLED\tMISSING\n")
	for _, p := range s.Services {
		fmt.Fprintf(tw, "%s\t%s\t%d/%d\t%s\n", p.USN, p.Owner, p.Filled, p.Total, strings.Join(p.Missing, ","))
	}
	fmt.Fprintf(tw, "total\t\t%d/%d\t\n", s.Filled, s.Total)
	return tw.Flush()
}

// WriteJSON prints the status as indented JSON.
func (s *RegionStatus) WriteJSON(w io.Writer) error { return writeJSON(w, s) }
