package values

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/cacproj/cac/pkg/report"
)

// GlobalDir holds environment global variables shared by every service of a region.
const GlobalDir = "_global"

// Reserved reports whether a config-repo name is reserved (starts with _ or .).
func Reserved(name string) bool { return strings.HasPrefix(name, "_") || strings.HasPrefix(name, ".") }

// ServiceDir is the directory of a service's region files: <usn>, or the root for a single-service repo.
func ServiceDir(usn string) string {
	if usn == "" {
		return "."
	}
	return usn
}

// Regions lists the regions of a service: the base names of <usn>/*.yaml (or *.yml), sorted.
func Regions(fsys fs.FS, usn string) ([]string, error) {
	dir := ServiceDir(usn)
	entries, err := fs.ReadDir(fsys, dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("the config repo has no directory %q for service %q: check --usn (or usn in .cac.yaml)", dir, usn)
	}
	if err != nil {
		return nil, fmt.Errorf("list regions in %s: %w", dir, err)
	}
	var regions []string
	for _, e := range entries {
		name := e.Name()
		ext := path.Ext(name)
		if e.IsDir() || Reserved(name) || (ext != ".yaml" && ext != ".yml") {
			continue
		}
		regions = append(regions, strings.TrimSuffix(name, ext))
	}
	sort.Strings(regions)
	return regions, nil
}

// Files are the region files that make up a service's values in one region, lowest layer first.
func Files(fsys fs.FS, usn, region string) []string {
	var files []string
	for _, base := range []string{path.Join(GlobalDir, region), path.Join(ServiceDir(usn), region)} {
		for _, ext := range []string{".yaml", ".yml"} {
			// A file that exists but cannot be read (or, under an os.Root, is a symlink leaving
			// the repo) is listed, so that Load reports it instead of ignoring a layer.
			if _, err := fs.Stat(fsys, base+ext); !errors.Is(err, fs.ErrNotExist) {
				files = append(files, base+ext)
				break
			}
		}
	}
	return files
}

// Decrypter is a file system whose SOPS-encrypted region files Load decrypts in memory
// (sops.FS). Decrypt returns data with every encrypted value replaced in place by its plaintext,
// where those values start in the result, and findings for values that fail to authenticate; a
// file that is not encrypted comes back unchanged.
type Decrypter interface {
	fs.FS
	Decrypt(name string, data []byte) (plain []byte, encrypted []report.Pos, findings []report.Finding, err error)
}

// Load reads and layers a service's values for one region: _global/<region>.yaml under
// <usn>/<region>.yaml. Findings report broken YAML; err reports files that could not be read (or
// decrypted, when fsys is a Decrypter). Values decrypted are marked Encrypted.
func Load(fsys fs.FS, usn, region string) (*Node, []report.Finding, error) {
	var layers []*Node
	var findings []report.Finding
	for _, f := range Files(fsys, usn, region) {
		data, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, nil, fmt.Errorf("read %s: %w", f, err)
		}
		var encrypted []report.Pos
		if d, ok := fsys.(Decrypter); ok {
			var probs []report.Finding
			if data, encrypted, probs, err = d.Decrypt(f, data); err != nil {
				return nil, nil, err
			}
			findings = append(findings, probs...)
		}
		n, probs := Parse(f, data)
		findings = append(findings, probs...)
		if n != nil {
			markEncrypted(n, encrypted)
			layers = append(layers, n)
		}
	}
	return Merge(layers...), findings, nil
}

// markEncrypted marks the scalars starting at the given positions as Encrypted.
func markEncrypted(n *Node, at []report.Pos) {
	if len(at) == 0 {
		return
	}
	set := make(map[report.Pos]bool, len(at))
	for _, p := range at {
		set[p] = true
	}
	n.Walk(func(_ string, v *Node) bool {
		if v.Kind == Scalar && set[v.Pos] {
			v.Encrypted = true
		}
		return true
	})
}

var namePattern = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

// CheckName checks a service (USN) or region name given on the command line or in settings: one
// path segment of letters, digits, '.', '_' and '-', without "..", not reserved. Names become
// directories in the config repo and in the output, so anything else could reach outside them.
func CheckName(what, name string) error {
	switch {
	case !namePattern.MatchString(name):
		return fmt.Errorf("%s %q: use only letters, digits, '.', '_' and '-' (one directory name, no '/')", what, name)
	case strings.Contains(name, ".."):
		return fmt.Errorf("%s %q: must not contain \"..\"", what, name)
	case Reserved(name):
		return fmt.Errorf("%s %q: names starting with '_' or '.' are reserved (like %s/)", what, name, GlobalDir)
	}
	return nil
}
