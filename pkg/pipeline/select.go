package pipeline

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/cacproj/cac/pkg/cacerr"
)

// SelectOptions configure `cac select`.
type SelectOptions struct {
	OutDir string // the build output (default output/cac), relative to Root unless absolute
	Root   string // the working tree the files are copied over (default ".")
	Region string
	DryRun bool // list what would be copied, write nothing
}

// Select copies <out>/<region>/** over the working tree, each file written aside and renamed into
// place. It returns the copied paths (relative, slash), sorted.
func Select(opt SelectOptions) ([]string, error) {
	if opt.Root == "" {
		opt.Root = "."
	}
	if opt.OutDir == "" {
		opt.OutDir = filepath.Join("output", "cac")
	}
	out := opt.OutDir
	if !filepath.IsAbs(out) {
		out = filepath.Join(opt.Root, out)
	}
	regions, err := builtRegions(out)
	if err != nil {
		return nil, err
	}
	if opt.Region == "" {
		return nil, cacerr.Usage("no region: set --region or CAC_REGION (built: %s)", strings.Join(regions, ", "))
	}
	if !slices.Contains(regions, opt.Region) {
		return nil, cacerr.Usage("region %q was not built: %s has %s", opt.Region, opt.OutDir, strings.Join(regions, ", "))
	}
	src := filepath.Join(out, opt.Region)
	var copied []string
	err = filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s is not a regular file", p)
		}
		rel, _ := filepath.Rel(src, p)
		copied = append(copied, filepath.ToSlash(rel))
		if opt.DryRun {
			return nil
		}
		return replaceFile(p, filepath.Join(opt.Root, rel))
	})
	if err != nil {
		return copied, cacerr.Usage("select region %s: %w", opt.Region, err)
	}
	sort.Strings(copied)
	return copied, nil
}

func builtRegions(out string) ([]string, error) {
	entries, err := os.ReadDir(out)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, cacerr.Usage("no build output in %s: run `cac build` first (or set --out)", out)
	}
	if err != nil {
		return nil, cacerr.Usage("read build output: %w", err)
	}
	var regions []string
	for _, e := range entries {
		if e.IsDir() {
			regions = append(regions, e.Name())
		}
	}
	if len(regions) == 0 {
		return nil, cacerr.Usage("the build output in %s has no region", out)
	}
	return regions, nil
}

// replaceFile copies src to dst through a temporary file in dst's directory and a rename, so a
// process reading dst sees the old or the new content, never a mix.
func replaceFile(src, dst string) error {
	info, err := os.Stat(src)
	if err != nil {
		return err
	}
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(dst), ".cac-select-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, werr := f.Write(data)
	cerr := f.Close()
	if err := errors.Join(werr, cerr, os.Chmod(tmp, info.Mode().Perm())); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}
