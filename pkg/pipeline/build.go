// Package pipeline is the pipeline behind `cac build`:
//
//	resolve  the code branch and commit (flag, CI variables, checkout)
//	fetch    the config repo at the same-named branch (fallback: its default branch)
//	load     every region's values: _global/<region>.yaml under <usn>/<region>.yaml
//	validate the values against the standard
//	discover the CacRegion_ templates of the code repo
//	render   every template for every region, in parallel
//	write    the rendered Tree and its Report to <out>/<region>/<path> and <out>/cac-report.json,
//	         all at once or not at all (WriteOutput; ReadOutput reads it back)
//
// Steps add findings rather than stopping at the first. The pipeline stops after a gate step that
// produced findings (broken values would only cause confusing render errors); validate and discover
// are not gates, so a user sees validation, template and placeholder problems together.
package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cacproj/cac/pkg/cacerr"
	"github.com/cacproj/cac/pkg/configrepo"
	"github.com/cacproj/cac/pkg/render"
	"github.com/cacproj/cac/pkg/report"
	"github.com/cacproj/cac/pkg/sops"
	"github.com/cacproj/cac/pkg/values"
)

// Validator checks one region's effective values (the standard's rules).
type Validator interface {
	Validate(region, usn string, v *values.Node) []report.Finding
}

// ConfigCheck checks a service's region against other files of the config repo (fsys is its root).
type ConfigCheck func(fsys fs.FS, usn, region string) []report.Finding

// Options configure a build. Zero values get the defaults of docs/design.md §4.
type Options struct {
	CodeDir    string   // the code repo root (default ".")
	OutDir     string   // output dir, relative to CodeDir unless absolute (default DefaultOutDir(USN))
	ConfigRepo string   // URL or path of the config repo
	USN        string   // the service's directory in the config repo ("" = repo root)
	Branch     string   // --branch
	CodeCommit string   // the code commit for _cac.commit (default: HEAD of CodeDir's git repo)
	Regions    []string // filter; empty = every region of the service
	Fetch      configrepo.Options
	Validator  Validator // nil = no validation
	// ConfigChecks run beside the Validator for every region, over the fetched config repo's files
	// (e.g. envs.TodoFindings: manual values of a new region still unfilled).
	ConfigChecks []ConfigCheck
	Getenv       func(string) string
	Stderr       io.Writer // notices (fallback, progress)
	Tool         string    // "cac v1.2.3", written into the report
	Jobs         int       // parallel renders (default GOMAXPROCS)
	// ManifestsDir holds the Kubernetes manifests among the rendered files (default deploy); they
	// are rendered after the config files and may use _cac.configHash.
	ManifestsDir string
	// ReadConfigFiles names files at the config repo's root to return in Result.ConfigFiles
	// (those that exist), e.g. _regions.yaml for publish.
	ReadConfigFiles []string
	// ValidateOnly stops after validation: `cac validate`. Nothing is rendered or written.
	ValidateOnly bool
	// KeepEncrypted reads SOPS-encrypted region files as ciphertext when no age identity is
	// available, instead of failing (cac diff in a pipeline that holds no key).
	KeepEncrypted bool
	// NoWrite renders into Result.Tree only; nothing is written to disk (the merge-request bot).
	NoWrite bool
	// Shared, when set, holds what the services of a fleet build have in common (RunFleet): the
	// resolve and fetch steps take the code branch and commit and the fetched config repo from it,
	// and the config is not closed at the end.
	Shared *Shared
	// CodePrefix is put before the file of findings in templates: the service's folder below the
	// code repo root in a fleet build, so that positions stay relative to the repository.
	CodePrefix string
}

// Shared is the part of a build common to every service of a fleet.
type Shared struct {
	Branch, BranchSource, Commit string // the code branch, where it came from, the code commit
	Config                       *configrepo.Result

	globals sync.Map // _global/ file → *layer: parsed once for the whole fleet
}

// layer is one parsed region file.
type layer struct {
	node     *values.Node
	findings []report.Finding
	err      error
}

// load is values.Load, with the _global/ layers of a fleet build parsed once and shared (a parsed
// Node is never modified: Merge and With build new ones).
func (sh *Shared) load(fsys fs.FS, usn, region string) (*values.Node, []report.Finding, error) {
	if sh == nil {
		return values.Load(fsys, usn, region)
	}
	var layers []*values.Node
	var findings []report.Finding
	for _, f := range values.Files(fsys, usn, region) {
		var l *layer
		if cached, ok := sh.globals.Load(f); ok {
			l = cached.(*layer)
		} else {
			l = &layer{}
			data, err := fs.ReadFile(fsys, f)
			if err != nil {
				l.err = fmt.Errorf("read %s: %w", f, err)
			} else {
				l.node, l.findings = values.Parse(f, data)
			}
			if strings.HasPrefix(f, values.GlobalDir+"/") {
				sh.globals.Store(f, l)
			}
		}
		if l.err != nil {
			return nil, nil, l.err
		}
		findings = append(findings, l.findings...)
		if l.node != nil {
			layers = append(layers, l.node)
		}
	}
	return values.Merge(layers...), findings, nil
}

// Result is what a build produced. Its Output (Tree and Report) is also written to the output dir,
// unless Options.NoWrite; after ValidateOnly, the Tree is empty.
type Result struct {
	Output
	Findings []report.Finding
	Values   map[string]*values.Node // each region's effective values, as the standard sees them
	// ConfigFiles holds the Options.ReadConfigFiles that exist in the config repo.
	ConfigFiles map[string][]byte
}

// rendered is one template rendered for one region.
type rendered struct {
	region   string
	template *render.Template
	data     []byte
}

type state struct {
	ctx      context.Context
	opt      Options
	res      *Result
	config   *configrepo.Result
	raw      map[string]*values.Node // effective values as in the config repo: what the standard checks
	vals     map[string]*values.Node // raw plus the _cac built-ins: what templates see
	tpls     []*render.Template
	outs     []rendered // region-major, in template order
	findings []report.Finding
}

type step struct {
	name string
	run  func(*state) error
	gate bool // stop after this step when there are findings
}

var steps = []step{
	{"resolve", resolve, true},
	{"fetch", fetch, true},
	{"load", load, true},
	{"validate", validate, false},
	{"discover", discover, false},
	{"render", renderAll, true},
	{"write", write, true},
}

// Run executes the pipeline. Findings in the input return an error of kind cacerr.KindFindings
// together with the result holding them; the caller prints them.
func Run(ctx context.Context, opt Options) (*Result, error) {
	if opt.CodeDir == "" {
		opt.CodeDir = "."
	}
	if opt.OutDir == "" {
		opt.OutDir = DefaultOutDir(opt.USN)
	}
	if opt.Getenv == nil {
		opt.Getenv = func(string) string { return "" }
	}
	if opt.Stderr == nil {
		opt.Stderr = io.Discard
	}
	if opt.ManifestsDir == "" {
		opt.ManifestsDir = "deploy"
	}
	if opt.Jobs <= 0 {
		opt.Jobs = runtime.GOMAXPROCS(0)
	}
	if opt.ConfigRepo == "" {
		return nil, cacerr.Usage("no config repo: set --config-repo, CAC_CONFIG_REPO, or config-repo in .cac.yaml")
	}
	if err := checkNames(opt); err != nil {
		return nil, err
	}
	st := &state{ctx: ctx, opt: opt, res: &Result{Output: Output{Report: &Report{Tool: opt.Tool, USN: opt.USN}}}}
	defer func() {
		if st.config != nil && opt.Shared == nil {
			st.config.Close()
		}
	}()
	for _, s := range steps {
		if opt.ValidateOnly && s.name == "discover" {
			break
		}
		start := time.Now()
		err := s.run(st)
		st.res.Report.Stages = append(st.res.Report.Stages, Stage{Name: s.name, Millis: float64(time.Since(start).Microseconds()) / 1000})
		if err != nil {
			return st.res, err
		}
		if n := report.Errors(st.findings); n > 0 && s.gate {
			report.Sort(st.findings)
			st.res.Findings = st.findings
			return st.res, cacerr.Findings(n, plural(n, "problem")+" found")
		}
		if err := ctx.Err(); err != nil {
			return st.res, err
		}
	}
	report.Sort(st.findings)
	st.res.Findings = st.findings
	if n := report.Errors(st.findings); n > 0 {
		return st.res, cacerr.Findings(n, plural(n, "problem")+" found")
	}
	return st.res, nil
}

// checkNames refuses a USN or region that is not a plain directory name, before anything is fetched.
func checkNames(opt Options) error {
	var errs []error
	if opt.USN != "" {
		errs = append(errs, values.CheckName("--usn", opt.USN))
	}
	for _, r := range opt.Regions {
		errs = append(errs, values.CheckName("region", r))
	}
	if err := errors.Join(errs...); err != nil {
		return cacerr.Wrap(cacerr.KindUsage, err)
	}
	return nil
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

func resolve(st *state) error {
	r := st.res.Report
	if sh := st.opt.Shared; sh != nil {
		r.CodeBranch, r.BranchSource, r.CodeCommit = sh.Branch, sh.BranchSource, sh.Commit
		return nil
	}
	branch, source, err := configrepo.ResolveBranch(st.opt.Branch, st.opt.Getenv, st.opt.CodeDir)
	if err != nil {
		return cacerr.Wrap(cacerr.KindUsage, err)
	}
	commit := st.opt.CodeCommit
	if commit == "" {
		c, err := configrepo.HeadCommit(st.opt.CodeDir)
		if err != nil {
			return cacerr.Wrap(cacerr.KindUsage, err)
		}
		commit = c
	}
	r.CodeBranch, r.BranchSource, r.CodeCommit = branch, source, commit
	return nil
}

func fetch(st *state) error {
	fo := st.opt.Fetch
	fo.URL = st.opt.ConfigRepo
	fo.Branch = st.res.Report.CodeBranch
	fo.Getenv = st.opt.Getenv
	if fo.Stderr == nil {
		fo.Stderr = st.opt.Stderr
	}
	cfg := st.opt.Shared.config()
	if cfg == nil {
		var err error
		if cfg, err = configrepo.Fetch(st.ctx, fo); err != nil {
			return err
		}
	}
	st.config = cfg
	for _, name := range st.opt.ReadConfigFiles {
		data, err := fs.ReadFile(cfg.FS, name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return cacerr.Usage("read %s from the config repo: %w", name, err)
		}
		if st.res.ConfigFiles == nil {
			st.res.ConfigFiles = map[string][]byte{}
		}
		st.res.ConfigFiles[name] = data
	}
	r := st.res.Report
	r.ConfigRepo, r.ConfigBranch, r.ConfigFallback, r.ConfigCommit, r.Offline = cfg.URL, cfg.Branch, cfg.Fallback, cfg.Commit, cfg.Offline
	r.Outcome = OutcomeSuccess
	if cfg.Offline {
		r.Outcome = OutcomeDegraded
	}
	return nil
}

func load(st *state) error {
	// configrepo's FS keeps every read inside the config repo: a region file that is a symlink to
	// a file outside it (a secret on the build machine) is refused. It reads only the files asked
	// for: <usn>/ and _global/, never the other services (docs/design.md §1).
	// SOPS-encrypted region files are decrypted in memory, with the identities sops would use.
	keys, err := sops.KeysFromEnv(st.opt.Getenv)
	if err != nil {
		return cacerr.Usage("age identity: %w", err)
	}
	fsys := sops.NewFS(st.config.FS, keys, st.opt.KeepEncrypted)
	all, err := values.Regions(fsys, st.opt.USN)
	if err != nil {
		return cacerr.Wrap(cacerr.KindUsage, err)
	}
	if len(all) == 0 {
		return cacerr.Usage("the config repo has no region files in %s/ (expected <region>.yaml files)", values.ServiceDir(st.opt.USN))
	}
	regions := all
	if len(st.opt.Regions) > 0 {
		regions = nil
		for _, r := range st.opt.Regions {
			if !slices.Contains(all, r) {
				return cacerr.Usage("unknown region %q: the config repo has %s", r, strings.Join(all, ", "))
			}
			if !slices.Contains(regions, r) {
				regions = append(regions, r)
			}
		}
	}
	st.res.Report.Regions = regions
	st.raw = make(map[string]*values.Node, len(regions))
	st.res.Values = st.raw
	st.vals = make(map[string]*values.Node, len(regions))
	for _, region := range regions {
		v, findings, err := st.opt.Shared.load(fsys, st.opt.USN, region)
		if err != nil {
			return cacerr.Wrap(cacerr.KindUsage, err)
		}
		st.findings = append(st.findings, findings...)
		st.raw[region] = v
		st.vals[region] = v.With("_cac", st.builtins(region))
	}
	return nil
}

// builtins are the _cac.* values templates see in a region, plus extra key/value pairs.
func (st *state) builtins(region string, extra ...string) *values.Node {
	r := st.res.Report
	return values.Strings(append([]string{
		"region", region,
		"usn", st.opt.USN,
		"commit", r.CodeCommit,
		"branch", r.CodeBranch,
		"configCommit", r.ConfigCommit,
	}, extra...)...)
}

func validate(st *state) error {
	if st.opt.Validator == nil {
		return nil
	}
	for _, region := range st.res.Report.Regions {
		st.findings = append(st.findings, st.opt.Validator.Validate(region, st.opt.USN, st.raw[region])...)
		for _, check := range st.opt.ConfigChecks {
			st.findings = append(st.findings, check(st.config.FS, st.opt.USN, region)...)
		}
	}
	return nil
}

// config is the fetched config repo of a fleet build; nil for a build of its own.
func (sh *Shared) config() *configrepo.Result {
	if sh == nil {
		return nil
	}
	return sh.Config
}

// codePath is a file of the code dir as the code repo names it (Options.CodePrefix before it).
func (st *state) codePath(file string) string {
	if st.opt.CodePrefix == "" {
		return file
	}
	return path.Join(st.opt.CodePrefix, file)
}

// inCode puts Options.CodePrefix before the files of findings in templates.
func (st *state) inCode(findings []report.Finding) []report.Finding {
	if st.opt.CodePrefix != "" {
		for i := range findings {
			findings[i].File = st.codePath(findings[i].File)
		}
	}
	return findings
}

func discover(st *state) error {
	out := st.opt.OutDir
	if !filepath.IsAbs(out) {
		out = filepath.ToSlash(filepath.Clean(out))
	} else if rel, err := filepath.Rel(st.opt.CodeDir, out); err == nil {
		out = filepath.ToSlash(rel)
	}
	// DefaultOut holds other services' outputs too, which their builds may be swapping right now.
	tpls, findings, err := render.Discover(st.opt.CodeDir, []string{out, DefaultOut})
	if err != nil {
		return cacerr.Wrap(cacerr.KindUsage, err)
	}
	st.tpls = tpls
	findings = st.inCode(findings)
	st.findings = append(st.findings, findings...)
	n := 0
	for _, t := range tpls {
		n += t.Placeholders()
	}
	r := st.res.Report
	r.Templates, r.Placeholders = len(tpls), n
	switch {
	case len(findings) > 0:
	case len(tpls) == 0:
		st.findings = append(st.findings, report.Finding{Pos: report.Pos{File: st.codePath(".")}, Rule: "build/no-template", Severity: report.SeverityError,
			Message: "no CacRegion_* template found in the code repo; name each config file that differs by region CacRegion_<name> (e.g. conf/CacRegion_app.toml)"})
	case n == 0:
		st.findings = append(st.findings, report.Finding{Pos: report.Pos{File: st.codePath(tpls[0].Path)}, Rule: "build/no-placeholder", Severity: report.SeverityError,
			Message: fmt.Sprintf("none of the %d templates contains a placeholder; write region values as ^cac<<path.to.value>> (a mistyped marker is the usual cause)", len(tpls))})
	}
	return nil
}

// renderAll renders config files first, then Kubernetes manifests (under ManifestsDir), so that
// manifests can use _cac.configHash: a hash of the region's rendered config files. A pod template
// annotated with it rolls the Deployment whenever the config changes.
func renderAll(st *state) error {
	regions := st.res.Report.Regions
	outs := make([]rendered, len(regions)*len(st.tpls))
	found := make([][]report.Finding, len(outs))
	manifest := func(t *render.Template) bool {
		return strings.HasPrefix(t.Out, strings.TrimSuffix(st.opt.ManifestsDir, "/")+"/")
	}
	st.renderPhase(outs, found, func(t *render.Template) bool { return !manifest(t) })
	for ri, region := range regions {
		h := sha256.New()
		for _, o := range outs[ri*len(st.tpls) : (ri+1)*len(st.tpls)] {
			if o.template != nil {
				fmt.Fprintf(h, "%s\x00%d\x00", o.template.Out, len(o.data))
				h.Write(o.data)
			}
		}
		st.vals[region] = st.raw[region].With("_cac", st.builtins(region, "configHash", hex.EncodeToString(h.Sum(nil))[:16]))
	}
	st.renderPhase(outs, found, manifest)
	for _, f := range found {
		st.findings = append(st.findings, st.inCode(f)...)
	}
	st.outs = outs
	return nil
}

// renderPhase renders, in parallel, every region × template that which selects, into outs.
func (st *state) renderPhase(outs []rendered, found [][]report.Finding, which func(*render.Template) bool) {
	regions := st.res.Report.Regions
	jobs := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < st.opt.Jobs; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				region, tpl := regions[i/len(st.tpls)], st.tpls[i%len(st.tpls)]
				data, f := tpl.Render(region, st.vals[region])
				outs[i], found[i] = rendered{region: region, template: tpl, data: data}, f
			}
		}()
	}
	for i := range outs {
		if which(st.tpls[i%len(st.tpls)]) {
			jobs <- i
		}
	}
	close(jobs)
	wg.Wait()
}
