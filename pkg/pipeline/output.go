package pipeline

import (
	"errors"
	"os"
	"path/filepath"
	"strings"

	"github.com/cacproj/cac/pkg/cacerr"
	"github.com/cacproj/cac/pkg/render"
)

// DefaultOut holds the outputs of builds without --out, relative to the code dir: output/cac for
// a single-service config repo (no USN), output/cac/<usn> for a service of a shared one.
const DefaultOut = "output/cac"

// ReportFile is the name of the build report inside the output dir.
const ReportFile = "cac-report.json"

// DefaultOutDir is the output dir, relative to the code dir, of a build of usn without --out.
// Each service gets its own, so builds of several services from one checkout (a monorepo's
// pipelines) never write into, or read, each other's output.
func DefaultOutDir(usn string) string {
	if usn == "" {
		return DefaultOut
	}
	return DefaultOut + "/" + usn
}

// Outcome says how a build went: OutcomeSuccess, or OutcomeDegraded when the config came from the
// offline cache because the config repo could not be reached (it may be out of date).
type Outcome string

const (
	OutcomeSuccess  Outcome = "success"
	OutcomeDegraded Outcome = "degraded"
)

// Report is <out>/cac-report.json: where the config came from and what was written.
type Report struct {
	Tool           string       `json:"tool,omitempty"`
	Outcome        Outcome      `json:"outcome"`
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
	Template     string `json:"template"` // "" when not written by a build
	SHA256       string `json:"sha256"`
	Size         int    `json:"size"`
	Placeholders int    `json:"placeholders"`
}

// Stage is the time a pipeline step took.
type Stage struct {
	Name   string  `json:"name"`
	Millis float64 `json:"ms"`
}

// OutPath is the output dir of a build: OutDir, else DefaultOutDir(USN), relative to CodeDir unless
// absolute.
func (o Options) OutPath() string {
	out := o.OutDir
	if out == "" {
		out = DefaultOutDir(o.USN)
	}
	if filepath.IsAbs(out) {
		return out
	}
	return filepath.Join(o.CodeDir, filepath.FromSlash(out))
}

// write puts the rendered files into the tree and the report, and (unless NoWrite) writes both.
func write(st *state) error {
	r := st.res.Report
	r.Files = make([]FileReport, 0, len(st.outs))
	st.res.Tree = Tree{}
	for _, o := range st.outs {
		f := fileReport(o.region, o.template.Out, o.data)
		f.Template, f.Placeholders = o.template.Path, o.template.Placeholders()
		r.Files = append(r.Files, f)
		st.res.Tree.Add(o.region, o.template.Out, File{Data: o.data, Mode: o.template.Mode})
	}
	if st.opt.NoWrite {
		return nil
	}
	return WriteOutput(st.opt.OutPath(), &st.res.Output)
}

func writeFile(p string, data []byte, mode os.FileMode) error {
	return (&fileWriter{}).write(p, data, mode)
}

// fileWriter writes the files of one output dir, creating each directory once.
type fileWriter struct {
	dirs map[string]bool
}

func (w *fileWriter) write(p string, data []byte, mode os.FileMode) error {
	if dir := filepath.Dir(p); !w.dirs[dir] {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		if w.dirs == nil {
			w.dirs = map[string]bool{}
		}
		w.dirs[dir] = true
	}
	if err := os.WriteFile(p, data, mode); err != nil {
		return err
	}
	if uint32(mode.Perm())&umask == 0 {
		return nil // the umask took nothing away
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
