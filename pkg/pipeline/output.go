package pipeline

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/cacproj/cac/pkg/cacerr"
	"github.com/cacproj/cac/pkg/render"
)

// DefaultOut is the output dir when none is set, relative to the code dir.
const DefaultOut = "output/cac"

// ReportFile is the name of the build report inside the output dir.
const ReportFile = "cac-report.json"

// Report is <out>/cac-report.json: where the config came from and what was written.
type Report struct {
	Tool           string       `json:"tool,omitempty"`
	USN            string       `json:"usn"`
	CodeBranch     string       `json:"codeBranch"`
	BranchSource   string       `json:"branchSource,omitempty"` // --branch, a CI variable, or git checkout
	CodeCommit     string       `json:"codeCommit"`
	ConfigRepo     string       `json:"configRepo"` // credentials removed
	ConfigBranch   string       `json:"configBranch"`
	ConfigFallback bool         `json:"configFallback"` // the same-named branch did not exist
	ConfigCommit   string       `json:"configCommit"`
	Offline        bool         `json:"offline,omitempty"` // a cached clone was used: the remote failed
	Regions        []string     `json:"regions"`
	Templates      int          `json:"templates"`
	Placeholders   int          `json:"placeholders"` // in the templates, counted once
	Files          []FileReport `json:"files"`
	Stages         []Stage      `json:"stages"`
}

// FileReport describes one written file.
type FileReport struct {
	Region       string `json:"region"`
	Path         string `json:"path"`
	Template     string `json:"template"`
	SHA256       string `json:"sha256"`
	Size         int    `json:"size"`
	Placeholders int    `json:"placeholders"`
}

// Stage is the time a pipeline step took.
type Stage struct {
	Name   string  `json:"name"`
	Millis float64 `json:"ms"`
}

// OutPath is the absolute output dir of a build.
func (o Options) OutPath() string {
	out := o.OutDir
	if out == "" {
		out = DefaultOut
	}
	if filepath.IsAbs(out) {
		return out
	}
	return filepath.Join(o.CodeDir, out)
}

func write(st *state) error {
	r := st.res.Report
	r.Files = make([]FileReport, 0, len(st.res.Outputs))
	for _, o := range st.res.Outputs {
		sum := sha256.Sum256(o.Data)
		r.Files = append(r.Files, FileReport{Region: o.Region, Path: o.Template.Out, Template: o.Template.Path,
			SHA256: hex.EncodeToString(sum[:]), Size: len(o.Data), Placeholders: o.Template.Placeholders()})
	}
	return writeTree(st.opt.OutPath(), func(dir string) error {
		for _, o := range st.res.Outputs {
			if err := writeFile(filepath.Join(dir, o.Region, filepath.FromSlash(o.Template.Out)), o.Data, o.Template.Mode); err != nil {
				return err
			}
		}
		data, err := json.MarshalIndent(r, "", "  ")
		if err != nil {
			return err
		}
		return writeFile(filepath.Join(dir, ReportFile), append(data, '\n'), 0o644)
	})
}

func writeFile(p string, data []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(p, data, mode); err != nil {
		return err
	}
	return os.Chmod(p, mode) // WriteFile's mode is filtered by the umask; keep the template's bits
}

// writeTree fills a fresh directory beside out and swaps it into place, so out is either the previous
// complete output or the new complete output, never a mix. Leftovers of killed builds are removed.
func writeTree(out string, fill func(dir string) error) error {
	parent, base := filepath.Dir(out), filepath.Base(out)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return cacerr.Usage("create output dir: %w", err)
	}
	prefix := render.TempPrefix + base + "-"
	for _, s := range staleTemps(parent, prefix) {
		os.RemoveAll(s)
	}
	// The temp dir is 0700 while it is filled (rendered files hold secrets, and a killed build
	// leaves it behind until the next build); it becomes 0755 just before it is swapped in.
	tmp, err := os.MkdirTemp(parent, prefix)
	if err != nil {
		return cacerr.Usage("create output dir: %w", err)
	}
	if err := fill(tmp); err != nil {
		os.RemoveAll(tmp)
		return cacerr.Usage("write output: %w", err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		os.RemoveAll(tmp)
		return cacerr.Usage("write output: %w", err)
	}
	if err := swap(tmp, out); err != nil {
		os.RemoveAll(tmp)
		return cacerr.Usage("move output into place: %w", err)
	}
	return nil
}

// swap moves dir to out. An existing out is exchanged with dir atomically where the platform can
// (exchange: renameat2 RENAME_EXCHANGE on Linux); elsewhere, or when the filesystem cannot, out is
// renamed aside first and dir renamed into place, so out is briefly absent but never a mix. Either
// way the previous tree is made private and removed.
func swap(dir, out string) error {
	if _, err := os.Lstat(out); errors.Is(err, os.ErrNotExist) {
		return os.Rename(dir, out)
	}
	if exchange(dir, out) == nil {
		return removeOld(dir) // dir now holds the previous output
	}
	return swapAside(dir, out)
}

// swapAside renames out aside, dir into its place, and removes the previous tree.
func swapAside(dir, out string) error {
	old := dir + oldSuffix
	if err := os.Rename(out, old); err != nil {
		return err
	}
	if err := os.Rename(dir, out); err != nil {
		_ = os.Rename(old, out)
		return err
	}
	return removeOld(old)
}

// oldSuffix marks the previous output renamed aside by swap.
const oldSuffix = ".old"

// removeOld removes the previous output after a swap. It is made private (0700) first: a build
// killed during the removal leaves a half-removed tree that nobody else can read or take for an
// output, and the next build removes it.
func removeOld(dir string) error {
	if err := os.Chmod(dir, 0o700); err != nil {
		return err
	}
	return os.RemoveAll(dir)
}

// staleTemps lists the temp dirs of earlier builds of out in parent: prefix + os.MkdirTemp's
// digits, with or without oldSuffix. Matching the digits exactly keeps the temp dirs of a sibling
// output whose name extends out's (svc and svc-a) out of the list.
func staleTemps(parent, prefix string) []string {
	matches, _ := filepath.Glob(filepath.Join(parent, prefix+"*"))
	var stale []string
	for _, m := range matches {
		rest := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(m), prefix), oldSuffix)
		if rest != "" && strings.Trim(rest, "0123456789") == "" {
			stale = append(stale, m)
		}
	}
	return stale
}

// ReadReport reads <out>/cac-report.json.
func ReadReport(out string) (*Report, error) {
	data, err := os.ReadFile(filepath.Join(out, ReportFile))
	if err != nil {
		return nil, err
	}
	var r Report
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("read %s: %w", filepath.Join(out, ReportFile), err)
	}
	return &r, nil
}
