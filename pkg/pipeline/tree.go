package pipeline

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/cacproj/cac/pkg/cacerr"
)

// File is one rendered file: its content and the permission bits of its template.
type File struct {
	Data []byte
	Mode fs.FileMode
}

// Tree is a rendered output: region → path (slash-separated, below the region dir) → file.
// It is what every consumer of a build takes: diff, publish, select and subenv.
type Tree map[string]map[string]File

// Add puts f at region/path.
func (t Tree) Add(region, path string, f File) {
	if t[region] == nil {
		t[region] = map[string]File{}
	}
	t[region][path] = f
}

// Regions lists the regions with at least one file, sorted.
func (t Tree) Regions() []string {
	rs := make([]string, 0, len(t))
	for r, files := range t {
		if len(files) > 0 {
			rs = append(rs, r)
		}
	}
	slices.Sort(rs)
	return rs
}

// Paths lists the files of region, sorted.
func (t Tree) Paths(region string) []string {
	ps := make([]string, 0, len(t[region]))
	for p := range t[region] {
		ps = append(ps, p)
	}
	slices.Sort(ps)
	return ps
}

// File returns the file at region/path.
func (t Tree) File(region, path string) (File, bool) {
	f, ok := t[region][path]
	return f, ok
}

// Contents is the tree without modes: region → path → content (the shape pkg/diff compares).
func (t Tree) Contents() map[string]map[string][]byte {
	out := make(map[string]map[string][]byte, len(t))
	for r, files := range t {
		out[r] = make(map[string][]byte, len(files))
		for p, f := range files {
			out[r][p] = f.Data
		}
	}
	return out
}

// Output is one build of one service: the rendered tree and its report. Run returns it,
// WriteOutput writes it as <dir>/<region>/<path> plus <dir>/cac-report.json, ReadOutput reads it back.
type Output struct {
	Dir    string // where it was written to or read from; "" when rendered in memory only
	Tree   Tree
	Report *Report
}

// WriteOutput writes o into dir all at once: dir holds either its previous content or o, complete,
// never a mix (see writeTree). o.Report.Files must list o.Tree's files (FileReports does).
func WriteOutput(dir string, o *Output) error {
	data, err := json.MarshalIndent(o.Report, "", "  ")
	if err != nil {
		return cacerr.Usage("write %s: %w", ReportFile, err)
	}
	err = writeTree(dir, func(tmp string) error {
		var w fileWriter
		for _, region := range o.Tree.Regions() {
			for _, p := range o.Tree.Paths(region) {
				f := o.Tree[region][p]
				if err := w.write(filepath.Join(tmp, region, filepath.FromSlash(p)), f.Data, f.Mode); err != nil {
					return err
				}
			}
		}
		return w.write(filepath.Join(tmp, ReportFile), append(data, '\n'), 0o644)
	})
	if err == nil {
		o.Dir = dir
	}
	return err
}

// FileReports describes every file of t (region, path, checksum, size), sorted by region and path.
// A build also fills in each file's template; other writers of an output leave it empty.
func (t Tree) FileReports() []FileReport {
	var out []FileReport
	for _, r := range t.Regions() {
		for _, p := range t.Paths(r) {
			out = append(out, fileReport(r, p, t[r][p].Data))
		}
	}
	return out
}

func fileReport(region, path string, data []byte) FileReport {
	sum := sha256.Sum256(data)
	return FileReport{Region: region, Path: path, SHA256: hex.EncodeToString(sum[:]), Size: len(data)}
}

// ReadOutput reads a build output dir back: the one way select, publish --no-build and subenv
// read what cac build wrote. The report is decoded strictly (an unknown field or outcome is an
// error naming the file), and the files on disk must be exactly those the report lists, with
// their checksums: a partial or mixed output is refused rather than used.
func ReadOutput(dir string) (*Output, error) {
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, cacerr.Usage("no build output in %s: run `cac build` first (or set --out)", dir)
	}
	reportPath := filepath.Join(dir, ReportFile)
	data, err := os.ReadFile(reportPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, cacerr.Usage("%s is not the output of cac build: it has no %s; run `cac build` (or set --out)", dir, ReportFile)
	}
	if err != nil {
		return nil, cacerr.Usage("read build report: %w", err)
	}
	r, err := decodeReport(data)
	if err != nil {
		return nil, cacerr.Usage("build report %s: %w", reportPath, err)
	}
	listed := make(map[string]FileReport, len(r.Files))
	for _, f := range r.Files {
		listed[f.Region+"/"+f.Path] = f
	}
	o := &Output{Dir: dir, Tree: Tree{}, Report: r}
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if rel == ReportFile {
			return nil
		}
		want, ok := listed[rel]
		if !ok {
			return fmt.Errorf("%s is not listed in %s", rel, ReportFile)
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s is not a regular file", rel)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if got := fileReport(want.Region, want.Path, b); got.SHA256 != want.SHA256 || got.Size != want.Size {
			return fmt.Errorf("%s differs from the file %s lists", rel, ReportFile)
		}
		delete(listed, rel)
		o.Tree.Add(want.Region, want.Path, File{Data: b, Mode: info.Mode().Perm()})
		return nil
	})
	if err == nil && len(listed) > 0 {
		missing := make([]string, 0, len(listed))
		for k := range listed {
			missing = append(missing, k)
		}
		slices.Sort(missing)
		err = fmt.Errorf("%s lists %s, missing on disk", ReportFile, strings.Join(missing, ", "))
	}
	if err != nil {
		return nil, cacerr.Usage("build output %s is incomplete or mixed: %w; run `cac build` again", dir, err)
	}
	return o, nil
}

// decodeReport decodes a report strictly: one JSON object with only the fields of Report and a
// known outcome.
func decodeReport(data []byte) (*Report, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var r Report
	if err := dec.Decode(&r); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("data after the report object")
	}
	switch r.Outcome {
	case OutcomeSuccess, OutcomeDegraded:
	default:
		return nil, fmt.Errorf("unknown outcome %q (want %q or %q)", r.Outcome, OutcomeSuccess, OutcomeDegraded)
	}
	for _, f := range r.Files {
		if f.Region == "" || f.Path == "" || strings.Contains(f.Region, "/") {
			return nil, fmt.Errorf("file entry %+v: want a region and a path", f)
		}
	}
	return &r, nil
}
