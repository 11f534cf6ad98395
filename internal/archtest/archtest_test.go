// Package archtest holds the code to the layer map in ARCHITECTURE.md: every package of the module
// is on exactly one layer, no package imports one on a layer above its own, and only cmd/cac
// imports cobra.
package archtest

import (
	"bufio"
	"errors"
	"fmt"
	"go/build"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

const (
	module   = "github.com/cacproj/cac"
	root     = "../.."
	archFile = "ARCHITECTURE.md"
	fence    = "```layers"
	cobra    = "github.com/spf13/cobra"
	cobraPkg = "cmd/cac"
)

// pkgToken is a package path as the map writes it: relative to the module root.
var pkgToken = regexp.MustCompile(`^(cmd|pkg|internal)(/[a-z0-9_-]+)+$|^rules$`)

// layers reads the ```layers block of ARCHITECTURE.md: one layer per unindented line, top first;
// the line's leading package paths are the layer, the rest of it (and indented lines) describe it.
// It returns each package's layer index and each layer's line number.
func layers(t *testing.T) (map[string]int, []int) {
	t.Helper()
	f, err := os.Open(filepath.Join(root, archFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	layer, lines := map[string]int{}, []int(nil)
	in := false
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case !in:
			in = line == fence
			continue
		case strings.HasPrefix(line, "```"):
			return layer, lines
		case line == "" || line[0] == ' ':
			continue
		}
		var pkgs []string
		for _, tok := range strings.Fields(line) {
			if !pkgToken.MatchString(tok) {
				break
			}
			pkgs = append(pkgs, tok)
		}
		if len(pkgs) == 0 {
			t.Errorf("%s:%d: a layer line must start with package paths (cmd/…, pkg/…, internal/…, rules): %q", archFile, n, line)
			continue
		}
		for _, p := range pkgs {
			if prev, ok := layer[p]; ok {
				t.Errorf("%s:%d: %s is already on line %d", archFile, n, p, lines[prev])
			}
			layer[p] = len(lines)
		}
		lines = append(lines, n)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	t.Fatalf("%s: no %s block (closed by ```)", archFile, fence)
	return nil, nil
}

type pkg struct {
	imports []string // packages of the module imported by the package's non-test files
	all     []string // every import path, test files included
}

// packages finds every package of the module (not the test modules under test/, not testdata) with
// go/build, for this platform's build constraints.
func packages(t *testing.T) map[string]pkg {
	t.Helper()
	out := map[string]pkg{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		name := d.Name()
		if path != root {
			if name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil {
				return filepath.SkipDir // a module of its own
			}
		}
		bp, err := build.Default.ImportDir(path, 0)
		var noGo *build.NoGoError
		if errors.As(err, &noGo) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		var p pkg
		for _, imp := range bp.Imports {
			if r, ok := strings.CutPrefix(imp, module+"/"); ok {
				p.imports = append(p.imports, r)
			}
		}
		p.all = append(append(append(p.all, bp.Imports...), bp.TestImports...), bp.XTestImports...)
		out[filepath.ToSlash(rel)] = p
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) < 10 {
		t.Fatalf("found only %d packages under %s", len(out), root)
	}
	return out
}

func TestLayers(t *testing.T) {
	layer, lines := layers(t)
	pkgs := packages(t)
	names := make([]string, 0, len(pkgs))
	for name := range pkgs {
		names = append(names, name)
	}
	sort.Strings(names)

	// where describes a layer for a message: its line and its packages.
	where := func(l int) string {
		var on []string
		for p, pl := range layer {
			if pl == l {
				on = append(on, p)
			}
		}
		sort.Strings(on)
		return fmt.Sprintf("line %d (%s)", lines[l], strings.Join(on, " "))
	}
	for _, name := range names {
		if _, ok := layer[name]; ok {
			continue
		}
		// It fits on any layer from its importers' lowest (top) down to its imports' highest (bottom).
		top, bottom := 0, len(lines)-1
		var imps, importers []string
		for _, imp := range pkgs[name].imports {
			if l, ok := layer[imp]; ok {
				bottom = min(bottom, l)
				imps = append(imps, imp)
			}
		}
		for _, other := range names {
			if l, ok := layer[other]; ok && slices.Contains(pkgs[other].imports, name) {
				top = max(top, l)
				importers = append(importers, other)
			}
		}
		var hint string
		switch {
		case top == bottom:
			hint = "add it to " + where(bottom)
		case top < bottom:
			hint = fmt.Sprintf("add it to %s, or to a layer above it up to %s", where(bottom), where(top))
		default:
			hint = "no layer fits: move packages first"
		}
		t.Errorf("%s is not in the layer map of %s: %s (imports %v, imported by %v)", name, archFile, hint, imps, importers)
	}
	for p, l := range layer {
		if _, ok := pkgs[p]; !ok {
			t.Errorf("%s:%d lists %s, which is no package of the module: remove it", archFile, lines[l], p)
		}
	}
	for _, name := range names {
		l, ok := layer[name]
		if !ok {
			continue
		}
		for _, imp := range pkgs[name].imports {
			if il, ok := layer[imp]; ok && il < l {
				t.Errorf("%s (%s:%d) imports %s, on a layer above it (%s:%d): every arrow points down", name, archFile, lines[l], imp, archFile, lines[il])
			}
		}
	}
}

func TestCobraOnlyInCmd(t *testing.T) {
	n := 0
	for name, p := range packages(t) {
		for _, imp := range p.all {
			if imp == cobra || strings.HasPrefix(imp, cobra+"/") {
				if name == cobraPkg {
					n++
				} else {
					t.Errorf("%s imports %s: only %s may (the CLI framework stays in the CLI)", name, imp, cobraPkg)
				}
			}
		}
	}
	if n == 0 {
		t.Errorf("%s does not import %s: is the check looking at the right packages?", cobraPkg, cobra)
	}
}
