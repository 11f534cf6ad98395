package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/cacproj/cac/pkg/cacerr"
	"github.com/cacproj/cac/pkg/configrepo"
	"github.com/cacproj/cac/pkg/report"
	"github.com/cacproj/cac/pkg/shard"
	"github.com/cacproj/cac/pkg/values"
)

// ServicesFile is the reserved config-repo file that says where each service's code is
// (docs/design.md §7). A service it does not name has its templates in the folder named like it
// at the code repo root.
//
//	services:
//	  order-api: {repo: https://git.example.com/shop/monorepo.git, dir: order}
const ServicesFile = "_services.yaml"

// FleetReportFile is the summary of a fleet build, beside the services' output dirs.
const FleetReportFile = "cac-fleet.json"

// Service is one entry of ServicesFile.
type Service struct {
	Repo string `yaml:"repo" json:"repo,omitempty"` // the code repo (URL or path)
	Dir  string `yaml:"dir" json:"dir,omitempty"`   // the service's folder in it; "" = named like the service
}

// ReadServices reads ServicesFile from the config repo; an empty map when it does not exist.
func ReadServices(fsys fs.FS) (map[string]Service, error) {
	data, err := fs.ReadFile(fsys, ServicesFile)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]Service{}, nil
	}
	if err != nil {
		return nil, cacerr.Usage("read %s from the config repo: %w", ServicesFile, err)
	}
	var doc struct {
		Services map[string]Service `yaml:"services"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, cacerr.Usage("%s: %w", ServicesFile, err)
	}
	for usn, s := range doc.Services {
		if s.Dir != "" && (!fs.ValidPath(s.Dir) || strings.HasPrefix(s.Dir, ".")) {
			return nil, cacerr.Usage("%s: service %s: dir %q must be a folder below the code repo root", ServicesFile, usn, s.Dir)
		}
	}
	if doc.Services == nil {
		doc.Services = map[string]Service{}
	}
	return doc.Services, nil
}

// FleetOptions configure a build of many services of one code repo (a monorepo) in one process.
type FleetOptions struct {
	// Options is every service's build: CodeDir is the code repo root, OutDir the fleet's output
	// dir (default DefaultOut), each service writing <OutDir>/<usn>. USN is ignored.
	Options
	// USNs are the services to build; empty means every service of the config repo that has a
	// folder in the code repo.
	USNs []string
	// Shard keeps the services of one runner (shard.Spec.Owns); the zero Spec keeps all.
	Shard shard.Spec
	// Workers is how many services are built at once (default GOMAXPROCS). Each service is
	// rendered, written and dropped before the worker takes the next: memory stays bounded by
	// Workers services, not the fleet.
	Workers int
	// Progress, when set, is called after each service with the services done and the total.
	Progress func(done, total int)
}

// FleetReport is <out>/cac-fleet.json.
type FleetReport struct {
	Tool         string           `json:"tool,omitempty"`
	CodeBranch   string           `json:"codeBranch"`
	CodeCommit   string           `json:"codeCommit"`
	ConfigRepo   string           `json:"configRepo"`
	ConfigBranch string           `json:"configBranch"`
	ConfigCommit string           `json:"configCommit"`
	Offline      bool             `json:"offline,omitempty"`
	Shard        string           `json:"shard"`
	Services     []ServiceSummary `json:"services"`
	// Skipped are services of the config repo without a folder in the code repo (their code is
	// elsewhere); only a build of every service skips any.
	Skipped []string `json:"skipped,omitempty"`
	Files   int      `json:"files"`
	Errors  int      `json:"errors"` // findings of severity error, all services together
	Millis  float64  `json:"ms"`
}

// ServiceSummary is one service of a fleet build.
type ServiceSummary struct {
	USN     string  `json:"usn"`
	Dir     string  `json:"dir"` // its folder in the code repo
	Outcome Outcome `json:"outcome"`
	Files   int     `json:"files"`
	Errors  int     `json:"errors"`
	Error   string  `json:"error,omitempty"` // why it was not built, other than findings
}

// OutcomeFailed marks a service of a fleet build that produced no output.
const OutcomeFailed Outcome = "failed"

// FleetResult is what a fleet build produced; its report is also written to the output dir.
type FleetResult struct {
	Report   *FleetReport
	Dir      string           // the fleet's output dir
	Findings []report.Finding // every service's, sorted
}

// RunFleet fetches the config repo once and builds each selected service with Run, at most
// Workers at a time, into <OutDir>/<usn> (each atomically, with its cac-report.json), then writes
// FleetReportFile. Findings of every service are returned together; the error is as for one
// build: cacerr.KindFindings when any service has findings, a usage or remote error when a
// service could not be built at all (the most severe kind wins).
func RunFleet(ctx context.Context, o FleetOptions) (*FleetResult, error) {
	start := time.Now()
	opt := o.Options
	if opt.CodeDir == "" {
		opt.CodeDir = "."
	}
	if opt.OutDir == "" {
		opt.OutDir = DefaultOut
	}
	if opt.Getenv == nil {
		opt.Getenv = func(string) string { return "" }
	}
	if opt.Stderr == nil {
		opt.Stderr = io.Discard
	}
	if opt.ConfigRepo == "" {
		return nil, cacerr.Usage("no config repo: set --config-repo, CAC_CONFIG_REPO, or config-repo in .cac.yaml")
	}
	workers := o.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	for _, usn := range o.USNs {
		if err := values.CheckName("--usn", usn); err != nil {
			return nil, cacerr.Wrap(cacerr.KindUsage, err)
		}
	}
	out := opt.OutDir
	if !filepath.IsAbs(out) {
		out = filepath.Join(opt.CodeDir, out)
	}
	// each service's build runs in its own folder: its output dir must not be relative
	out, err := filepath.Abs(out)
	if err != nil {
		return nil, cacerr.Usage("output dir: %w", err)
	}

	sh := &Shared{}
	if sh.Branch, sh.BranchSource, err = configrepo.ResolveBranch(opt.Branch, opt.Getenv, opt.CodeDir); err != nil {
		return nil, cacerr.Wrap(cacerr.KindUsage, err)
	}
	if sh.Commit = opt.CodeCommit; sh.Commit == "" {
		if sh.Commit, err = configrepo.HeadCommit(opt.CodeDir); err != nil {
			return nil, cacerr.Wrap(cacerr.KindUsage, err)
		}
	}
	fo := opt.Fetch
	fo.URL, fo.Branch, fo.Getenv = opt.ConfigRepo, sh.Branch, opt.Getenv
	if fo.Stderr == nil {
		fo.Stderr = opt.Stderr
	}
	if sh.Config, err = configrepo.Fetch(ctx, fo); err != nil {
		return nil, err
	}
	defer sh.Config.Close()
	cfg := sh.Config

	rep := &FleetReport{Tool: opt.Tool, CodeBranch: sh.Branch, CodeCommit: sh.Commit, ConfigRepo: cfg.URL, ConfigBranch: cfg.Branch,
		ConfigCommit: cfg.Commit, Offline: cfg.Offline, Shard: o.Shard.String()}
	if o.Shard.Total == 0 {
		rep.Shard = shard.All.String()
	}
	jobs, err := fleetServices(cfg.FS, opt.CodeDir, o.USNs, rep)
	if err != nil {
		return nil, err
	}
	var mine []ServiceSummary
	for _, j := range jobs {
		if o.Shard.Owns(j.USN) {
			mine = append(mine, j)
		}
	}
	rep.Services = mine

	findings := make([][]report.Finding, len(mine))
	errs := make([]error, len(mine))
	next := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	done := 0
	for range min(workers, max(len(mine), 1)) {
		wg.Go(func() {
			for i := range next {
				findings[i], errs[i] = buildService(ctx, opt, sh, out, &mine[i], workers)
				if o.Progress != nil {
					mu.Lock()
					done++
					o.Progress(done, len(mine))
					mu.Unlock()
				}
			}
		})
	}
	for i := range mine {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	res := &FleetResult{Report: rep, Dir: out}
	var failed []error
	for i, s := range mine {
		res.Findings = append(res.Findings, findings[i]...)
		rep.Files += s.Files
		rep.Errors += s.Errors
		if errs[i] != nil && !cacerr.Is(errs[i], cacerr.KindFindings) {
			failed = append(failed, errs[i])
		}
	}
	report.Sort(res.Findings)
	rep.Millis = float64(time.Since(start).Microseconds()) / 1000
	data, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return res, cacerr.Usage("write %s: %w", FleetReportFile, err)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return res, cacerr.Usage("create output dir: %w", err)
	}
	if err := writeFile(filepath.Join(out, FleetReportFile), append(data, '\n'), 0o644); err != nil {
		return res, cacerr.Usage("write %s: %w", FleetReportFile, err)
	}
	return res, fleetError(rep, failed)
}

// fleetServices lists the services to build, sorted, with their code folders. Without usns, every
// non-reserved folder of the config repo is a service, and those without a code folder are
// skipped (recorded in rep); a service asked for by name must have both.
func fleetServices(cfg fs.FS, codeDir string, usns []string, rep *FleetReport) ([]ServiceSummary, error) {
	services, err := ReadServices(cfg)
	if err != nil {
		return nil, err
	}
	all := usns == nil
	if all {
		entries, err := fs.ReadDir(cfg, ".")
		if err != nil {
			return nil, cacerr.Usage("list the services of the config repo: %w", err)
		}
		for _, e := range entries {
			if e.IsDir() && !values.Reserved(e.Name()) && values.CheckName("service", e.Name()) == nil {
				usns = append(usns, e.Name())
			}
		}
		if len(usns) == 0 {
			return nil, cacerr.Usage("the config repo has no service folders (<usn>/<region>.yaml)")
		}
	}
	usns = slices.Compact(slices.Sorted(slices.Values(usns)))
	var out []ServiceSummary
	for _, usn := range usns {
		dir := services[usn].Dir
		if dir == "" {
			dir = usn
		}
		dir = path.Clean(dir)
		if st, err := os.Stat(filepath.Join(codeDir, filepath.FromSlash(dir))); err != nil || !st.IsDir() {
			if all {
				rep.Skipped = append(rep.Skipped, usn)
				continue
			}
			return nil, cacerr.Usage("service %s: no folder %s/ in the code repo (set its dir in the config repo's %s)", usn, dir, ServicesFile)
		}
		out = append(out, ServiceSummary{USN: usn, Dir: dir})
	}
	return out, nil
}

// buildService builds one service of a fleet into out/<usn> and keeps only its summary and
// findings: the rendered tree is dropped once written.
func buildService(ctx context.Context, opt Options, sh *Shared, out string, s *ServiceSummary, workers int) ([]report.Finding, error) {
	opt.USN, opt.Shared, opt.CodePrefix = s.USN, sh, s.Dir
	opt.CodeDir = filepath.Join(opt.CodeDir, filepath.FromSlash(s.Dir))
	opt.OutDir = filepath.Join(out, s.USN)
	if workers > 1 {
		opt.Jobs = 1 // the services already keep every core busy
	}
	res, err := Run(ctx, opt)
	s.Outcome = OutcomeFailed
	if res != nil {
		s.Errors = report.Errors(res.Findings)
		if err == nil {
			s.Outcome, s.Files = res.Report.Outcome, len(res.Report.Files)
		}
	}
	if err != nil && !cacerr.Is(err, cacerr.KindFindings) {
		err = cacerr.Wrap(cacerr.Kind(cacerr.ExitCode(err)), fmt.Errorf("service %s: %w", s.USN, err))
		s.Error = err.Error()
	}
	if res == nil {
		return nil, err
	}
	return res.Findings, err
}

// fleetError is the result of a fleet build as one build would report it: services that could
// not be built (the most severe kind), else the findings.
func fleetError(rep *FleetReport, failed []error) error {
	if len(failed) > 0 {
		kind := cacerr.KindUsage
		for _, err := range failed {
			if cacerr.Is(err, cacerr.KindRemote) {
				kind = cacerr.KindRemote
			}
		}
		return cacerr.Wrap(kind, fmt.Errorf("%d of %d services not built: %w", len(failed), len(rep.Services), errors.Join(failed...)))
	}
	if rep.Errors > 0 {
		n := 0
		for _, s := range rep.Services {
			if s.Errors > 0 {
				n++
			}
		}
		return cacerr.Findings(rep.Errors, fmt.Sprintf("%s found in %d of %d services", plural(rep.Errors, "problem"), n, len(rep.Services)))
	}
	return nil
}
