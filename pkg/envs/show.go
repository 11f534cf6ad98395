package envs

import (
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"text/tabwriter"

	"github.com/cacproj/cac/pkg/cacerr"
	"github.com/cacproj/cac/pkg/report"
	"github.com/cacproj/cac/pkg/standard"
	"github.com/cacproj/cac/pkg/values"
)

// Mask replaces a secret value in every output.
const Mask = "***"

// Leaf is one effective value of a service in a region and where it comes from.
type Leaf struct {
	Path   string     `json:"path"`
	Value  string     `json:"value"` // Mask for a secret
	Secret bool       `json:"secret,omitempty"`
	Layer  string     `json:"layer"` // "_global" or the service (usn, "." for a single-service repo)
	Origin report.Pos `json:"origin"`
}

// Effective is a service's effective values in one region.
type Effective struct {
	Region string   `json:"region"`
	USN    string   `json:"usn"`
	Files  []string `json:"files"` // the layers, lowest first
	Leaves []Leaf   `json:"values"`
}

// Show layers _global/<region>.yaml under <usn>/<region>.yaml and lists every leaf (list items one by
// one) with the file:line:col it comes from; values at the standard's secret leaves are masked.
// A region with no file for the service is a usage error wrapping ErrUnknownRegion; broken YAML
// comes back as findings.
func Show(fsys fs.FS, std *standard.Standard, usn, region string) (*Effective, []report.Finding, error) {
	files := values.Files(fsys, usn, region)
	if len(files) == 0 {
		return nil, nil, cacerr.Wrap(cacerr.KindUsage, fmt.Errorf("%w %q: no %s/%s.yaml nor _global/%s.yaml in the config repo",
			ErrUnknownRegion, region, values.ServiceDir(usn), region, region))
	}
	v, findings, err := values.Load(fsys, usn, region)
	if err != nil {
		return nil, nil, cacerr.Wrap(cacerr.KindUsage, err)
	}
	secret := map[string]bool{}
	if std != nil {
		for _, s := range std.Secrets(v) {
			secret[s.Path] = true
		}
	}
	eff := &Effective{Region: region, USN: usn, Files: files, Leaves: []Leaf{}}
	v.Walk(func(p string, n *values.Node) bool {
		if n.Kind == values.Map || n.Kind == values.List {
			return true
		}
		l := Leaf{Path: p, Value: n.Text(), Layer: layerOf(n.Pos.File, usn), Origin: n.Pos}
		if n.Kind == values.Null {
			l.Value = "null"
		}
		if secret[p] {
			l.Value, l.Secret = Mask, true
		}
		eff.Leaves = append(eff.Leaves, l)
		return true
	})
	return eff, findings, nil
}

func layerOf(file, usn string) string {
	if len(file) > len(values.GlobalDir) && file[:len(values.GlobalDir)+1] == values.GlobalDir+"/" {
		return values.GlobalDir
	}
	return values.ServiceDir(usn)
}

// WriteText prints the values as an aligned table: path, value, origin.
func (e *Effective) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "PATH\tVALUE\tORIGIN\n")
	for _, l := range e.Leaves {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", l.Path, printable(l.Value), l.Origin)
	}
	return tw.Flush()
}

// printable quotes values that a table would otherwise hide (empty, blanks, line breaks).
func printable(s string) string {
	q := strconv.Quote(s)
	if s == "" || q[1:len(q)-1] != s || s[0] == ' ' || s[len(s)-1] == ' ' {
		return q
	}
	return s
}

// WriteJSON prints the values as indented JSON.
func (e *Effective) WriteJSON(w io.Writer) error { return writeJSON(w, e) }

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// WriteRegionsText prints one line per region: its name, whether it has a _global file and its services.
func WriteRegionsText(w io.Writer, regions []Region) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "REGION\tGLOBAL\tSERVICES\n")
	for _, r := range regions {
		g := "-"
		if r.Global != "" {
			g = r.Global
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Name, g, joinNames(r.Services))
	}
	return tw.Flush()
}

// WriteRegionsJSON prints the regions as indented JSON.
func WriteRegionsJSON(w io.Writer, regions []Region) error { return writeJSON(w, regions) }

func joinNames(names []string) string {
	if len(names) == 0 {
		return "-"
	}
	s := ""
	for i, n := range names {
		if i > 0 {
			s += ","
		}
		if n == "" {
			n = "."
		}
		s += n
	}
	return s
}
