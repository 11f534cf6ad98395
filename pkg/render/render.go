// Package render finds the `CacRegion_*` templates of a code repo and renders them for a region.
// Bytes outside placeholders are kept exactly (line endings, BOM, final newline, encoding).
package render

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/cacproj/cac/pkg/placeholder"
	"github.com/cacproj/cac/pkg/report"
	"github.com/cacproj/cac/pkg/values"
)

// Prefix marks a template: conf/CacRegion_app.toml renders to conf/app.toml.
const Prefix = "CacRegion_"

// MaxSize is the largest template accepted (config files are small; a huge one is almost surely a mistake).
const MaxSize = 16 << 20

// Template is one parsed template file.
type Template struct {
	Path string      // relative to the code root, forward slashes
	Out  string      // output path: Path without the prefix
	Mode fs.FileMode // permission bits, kept on output
	tpl  *placeholder.Template
}

// Placeholders counts the well-formed placeholders in the template.
func (t *Template) Placeholders() int { return len(t.tpl.Placeholders) }

// OutputPath strips the CacRegion_ prefix from the base name of p.
func OutputPath(p string) string {
	dir, base := path.Split(p)
	return dir + strings.TrimPrefix(base, Prefix)
}

// IsTemplate reports whether the base name of p starts with the prefix.
func IsTemplate(p string) bool { return strings.HasPrefix(path.Base(p), Prefix) }

// Discover walks root for templates, skipping .git and the directories in skip (relative, slash).
// Problems with the templates (binary, not UTF-8, too large, symlinks leaving the repo, malformed
// placeholders) are returned as findings; err is for I/O failures.
func Discover(root string, skip []string) ([]*Template, []report.Finding, error) {
	absRoot, err := filepath.Abs(root)
	if err != nil {
		return nil, nil, err
	}
	if real, err := filepath.EvalSymlinks(absRoot); err == nil {
		absRoot = real
	}
	var tpls []*Template
	var findings []report.Finding
	err = filepath.WalkDir(absRoot, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("scan code dir: %w", err)
		}
		rel, _ := filepath.Rel(absRoot, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if d.Name() == ".git" || skipped(rel, skip) {
				return filepath.SkipDir
			}
			return nil
		}
		if !IsTemplate(rel) {
			return nil
		}
		t, f, err := load(absRoot, p, rel, d)
		if err != nil {
			return err
		}
		findings = append(findings, f...)
		if t != nil {
			tpls = append(tpls, t)
		}
		return nil
	})
	return tpls, findings, err
}

// TempPrefix starts the names of directories a build writes aside before renaming them into place;
// Discover never looks inside them.
const TempPrefix = ".cac-tmp-"

func skipped(rel string, skip []string) bool {
	if strings.HasPrefix(path.Base(rel), TempPrefix) {
		return true
	}
	for _, s := range skip {
		s = strings.TrimSuffix(s, "/")
		if s != "" && s != "." && (rel == s || strings.HasPrefix(rel, s+"/")) {
			return true
		}
	}
	return false
}

func bad(rel, rule, msg string, line int) []report.Finding {
	return []report.Finding{{Pos: report.Pos{File: rel, Line: line}, Rule: rule, Message: msg, Severity: report.SeverityError}}
}

func load(absRoot, p, rel string, d fs.DirEntry) (*Template, []report.Finding, error) {
	info, err := os.Stat(p) // follows symlinks
	if d.Type()&fs.ModeSymlink != 0 {
		target, terr := filepath.EvalSymlinks(p)
		if terr != nil {
			return nil, bad(rel, "template/symlink", "the template is a symlink whose target does not exist", 0), nil
		}
		if r, rerr := filepath.Rel(absRoot, target); rerr != nil || r == ".." || strings.HasPrefix(r, "../") {
			return nil, bad(rel, "template/symlink", "the template is a symlink to a file outside the repository; copy the file into the repository instead", 0), nil
		}
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read template %s: %w", rel, err)
	}
	if !info.Mode().IsRegular() {
		return nil, bad(rel, "template/type", "a template must be a regular file", 0), nil
	}
	if info.Size() > MaxSize {
		return nil, bad(rel, "template/size", fmt.Sprintf("the template is %d MiB; templates are limited to %d MiB", info.Size()>>20, MaxSize>>20), 0), nil
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, nil, fmt.Errorf("read template %s: %w", rel, err)
	}
	if i := bytes.IndexByte(data, 0); i >= 0 {
		return nil, bad(rel, "template/binary", "the template is a binary file (it contains NUL bytes); only text files can be templates: rename it without the CacRegion_ prefix", lineAt(data, i)), nil
	}
	if !utf8.Valid(data) {
		return nil, bad(rel, "template/encoding", "the template is not valid UTF-8; save it as UTF-8", lineAt(data, invalidAt(data))), nil
	}
	tpl, probs := placeholder.Parse(data)
	var findings []report.Finding
	for _, pr := range probs {
		findings = append(findings, report.Finding{Pos: report.Pos{File: rel, Line: pr.Line, Col: pr.Col},
			Rule: pr.Rule, Message: pr.Message, Severity: report.SeverityError})
	}
	return &Template{Path: rel, Out: OutputPath(rel), Mode: info.Mode().Perm(), tpl: tpl}, findings, nil
}

func lineAt(b []byte, off int) int { return 1 + bytes.Count(b[:off], []byte("\n")) }

func invalidAt(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return len(b)
}

// Render renders t for one region. Every unresolvable placeholder becomes a finding naming the
// template position, the region and the path, with the values file position as related when known.
func (t *Template) Render(region string, vals *values.Node) ([]byte, []report.Finding) {
	out, probs := t.tpl.Render(func(p string) (string, error) {
		s, _, err := vals.Leaf(p)
		return s, err
	})
	if len(probs) == 0 {
		return out, nil
	}
	findings := make([]report.Finding, 0, len(probs))
	for _, pr := range probs {
		f := report.Finding{Pos: report.Pos{File: t.Path, Line: pr.Line, Col: pr.Col}, Region: region, Path: pr.Path,
			Rule: "placeholder/unresolved", Message: pr.Message, Severity: report.SeverityError}
		var le *values.LookupError
		if errors.As(pr.Err, &le) {
			f.Rule = le.Rule
			if le.At != nil && le.At.Pos.File != "" {
				f.Related = []report.Pos{le.At.Pos}
			}
		}
		findings = append(findings, f)
	}
	return nil, findings
}
