package pipeline

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/cacproj/cac/pkg/cacerr"
)

// SelectOptions configure `cac select`.
type SelectOptions struct {
	Output *Output // the build output (ReadOutput)
	Root   string  // the working tree the files are copied over (default ".")
	Region string
	DryRun bool // list what would be copied, write nothing
}

// Select copies the region's files of the output over the working tree, each file written aside
// and renamed into place. It returns the copied paths (relative, slash), sorted.
func Select(opt SelectOptions) ([]string, error) {
	if opt.Root == "" {
		opt.Root = "."
	}
	tree := opt.Output.Tree
	regions := tree.Regions()
	if len(regions) == 0 {
		return nil, cacerr.Usage("the build output in %s has no region", opt.Output.Dir)
	}
	if opt.Region == "" {
		return nil, cacerr.Usage("no region: set --region or CAC_REGION (built: %s)", strings.Join(regions, ", "))
	}
	if !slices.Contains(regions, opt.Region) {
		return nil, cacerr.Usage("region %q was not built: %s has %s", opt.Region, filepath.ToSlash(opt.Output.Dir), strings.Join(regions, ", "))
	}
	copied := tree.Paths(opt.Region)
	if opt.DryRun {
		return copied, nil
	}
	for _, p := range copied {
		if err := replaceFile(tree[opt.Region][p], filepath.Join(opt.Root, filepath.FromSlash(p))); err != nil {
			return nil, cacerr.Usage("select region %s: %w", opt.Region, err)
		}
	}
	return copied, nil
}

// FindOutput is the output dir that select, publish --no-build and subenv read when --out is not
// set, relative to codeDir: DefaultOutDir(usn), like the build. Without a USN it is output/cac,
// unless that holds no report but the outputs of services: then the only one of them (a service
// container that ships one service's output, with no USN configured), or an error naming them.
func FindOutput(codeDir, usn string) (string, error) {
	dir := filepath.Join(codeDir, filepath.FromSlash(DefaultOutDir(usn)))
	if usn != "" {
		return dir, nil
	}
	if _, err := os.Stat(filepath.Join(dir, ReportFile)); err == nil {
		return dir, nil
	}
	entries, _ := os.ReadDir(dir)
	var services []string
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, e.Name(), ReportFile)); err == nil {
			services = append(services, e.Name())
		}
	}
	switch len(services) {
	case 0:
		return dir, nil
	case 1:
		return filepath.Join(dir, services[0]), nil
	}
	return "", cacerr.Usage("%s holds the outputs of several services (%s): set --usn (or --out)", filepath.ToSlash(dir), strings.Join(services, ", "))
}

// replaceFile writes f to dst through a temporary file in dst's directory and a rename, so a
// process reading dst sees the old or the new content, never a mix.
func replaceFile(f File, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	w, err := os.CreateTemp(filepath.Dir(dst), ".cac-select-*")
	if err != nil {
		return err
	}
	tmp := w.Name()
	_, werr := w.Write(f.Data)
	cerr := w.Close()
	if err := errors.Join(werr, cerr, os.Chmod(tmp, f.Mode.Perm())); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}
