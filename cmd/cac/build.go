package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cacproj/cac/pkg/cacerr"
	"github.com/cacproj/cac/pkg/configrepo"
	"github.com/cacproj/cac/pkg/envs"
	"github.com/cacproj/cac/pkg/gitremote"
	"github.com/cacproj/cac/pkg/pipeline"
	"github.com/cacproj/cac/pkg/report"
)

func newBuildCmd(c *common, e env) *cobra.Command {
	var out, cache, shardSpec string
	var offline, all bool
	var retries, workers int
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "build",
		Short: "Fetch the config repo, validate, and render every template for every region",
		Long: `build fetches the config repo at the branch named like the code branch (falling back to the
config repo's default branch, and saying so), layers _global/<region>.yaml under <usn>/<region>.yaml,
validates the values against the standard and renders every CacRegion_* template of the code repo
for every region into <out>/<region>/<path>, with <out>/cac-report.json. The output dir is --out,
else output/cac/<usn> (output/cac without --usn): builds of several services from one checkout
never share one.

--all builds every service of a monorepo in one process, fetching the config repo once: each
service's templates are in the folder its dir in the config repo's _services.yaml names, else in
the folder named like it at the code repo root; its output goes to <out>/<usn>/ (out defaults to
output/cac) and a summary to <out>/cac-fleet.json. --usn a,b,c builds those services the same way.
--shard I/N (or GitLab's CI_NODE_INDEX/CI_NODE_TOTAL) keeps the services of runner I of N; adding
a service never moves another to a different runner.

Every problem of every template and region is reported at once with file:line:col. An unresolved
placeholder, a malformed ^cac marker, or a build without any placeholder fails. The output appears
complete or not at all: a failed build leaves an earlier output untouched.`,
		Example: `  # render every region of the service "user" from a config repo
  cac build --config-repo https://git.example.com/platform/config.git --usn user

  # only two regions, from a local checkout of the config repo, findings as GitHub annotations
  cac build --config-repo ../config --regions sg,us --format github

  # keep a clone between CI jobs; use it (loudly) when the git server is down
  cac build --cache .cac-cache --offline-fallback

  # every service of a monorepo in one process, into output/cac/<usn>/<region>/...
  cac build --all --config-repo https://git.example.com/platform/config.git

  # the second quarter of the services (GitLab parallel: 4 sets CI_NODE_INDEX/CI_NODE_TOTAL)
  cac build --all --shard 2/4`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			start := time.Now()
			usns := strings.Split(c.usn, ",")
			if fleet := all || len(usns) > 1; fleet || shardSpec != "" || workers != 0 {
				if !fleet {
					return cacerr.Usage("--shard and --workers build several services: add --all or --usn a,b,c")
				}
				// a usn from CAC_USN or .cac.yaml names one service: --all builds them all
				if all && cmd.Flag("usn").Changed {
					return cacerr.Usage("--all builds every service: drop --usn, or list the services with --usn a,b,c")
				}
				if all {
					usns = nil
				}
				return buildFleet(cmd, c, e, fleetFlags{out: out, cache: cache, shard: shardSpec, offline: offline,
					retries: retries, workers: workers, timeout: timeout, usns: usns, start: start})
			}
			opt := pipeline.Options{
				CodeDir:    c.dir,
				OutDir:     out,
				ConfigRepo: c.configRepo,
				USN:        c.usn,
				Branch:     c.branch,
				Regions:    c.regions,
				Fetch: configrepo.Options{Cache: cache, OfflineFallback: offline, Retries: retriesOption(retries), Timeout: timeoutOption(timeout),
					Budget: budgetOption(c.fetchBudget)},
				Getenv: e.getenv,
				Stderr: e.stderr,
				Tool:   "cac " + toolVersion(),
			}
			if err := checkFormat(c.format); err != nil {
				return err
			}
			v, err := loadStandard(cmd.Context(), c)
			if err != nil {
				return err
			}
			opt.Validator = v
			opt.ConfigChecks = []pipeline.ConfigCheck{envs.TodoFindings} // a new region's unfilled manual values
			res, err := pipeline.Run(cmd.Context(), opt)
			recordBuild(e, res)
			if res != nil && len(res.Findings) > 0 {
				if perr := printFindings(e, c.format, "cac build", res.Findings); perr != nil {
					return perr
				}
			}
			if err != nil {
				return err
			}
			r := res.Report
			fmt.Fprintf(e.stderr, "config %s @ %s (%s)\n", r.ConfigRepo, r.ConfigBranch, short(r.ConfigCommit))
			fmt.Fprintf(e.stderr, "rendered %s (%s) for %s: %s\n", count(r.Templates, "template"), count(r.Placeholders, "placeholder"),
				count(len(r.Regions), "region"), strings.Join(r.Regions, ", "))
			fmt.Fprintf(e.stderr, "wrote %s to %s in %s\n", count(len(r.Files), "file"), displayPath(c.dir, opt.OutPath()), time.Since(start).Round(time.Millisecond))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&out, "out", "", "output `DIR`, relative to the code dir (default output/cac/<usn>, or output/cac without --usn)")
	f.StringVar(&cache, "cache", "", "keep a clone of the config repo in `DIR` between builds and fetch incrementally")
	f.BoolVar(&all, "all", false, "build every service of the monorepo (the config repo's service folders that have code here) in one process")
	f.StringVar(&shardSpec, "shard", "", "with --all or --usn a,b,c: build only runner `I/N`'s share of the services (default: CI_NODE_INDEX/CI_NODE_TOTAL when set)")
	f.IntVar(&workers, "workers", 0, "with --all or --usn a,b,c: services built at once (default: the number of CPUs)")
	f.BoolVar(&offline, "offline-fallback", false, "when the config repo cannot be reached, use the clone in --cache (with a warning)")
	f.IntVar(&retries, "retries", 3, "retries of a failed fetch (connection errors, 5xx), with exponential backoff from 0.5s")
	f.DurationVar(&timeout, "fetch-timeout", gitremote.DefaultTimeout, "give up one attempt to fetch the config repo after `DURATION` (then retry, within --fetch-budget); 0 = no limit")
	return cmd
}

// recordBuild gives --metrics-file the stage times and placeholder count of a build, and marks a
// build from the offline cache degraded.
func recordBuild(e env, res *pipeline.Result) {
	if res == nil || res.Report == nil {
		return
	}
	if r := res.Report; r.Offline {
		e.rec.Degrade(fmt.Sprintf("config repo %s unreachable: built from the cached clone of branch %s at commit %s (--offline-fallback)",
			r.ConfigRepo, r.ConfigBranch, short(r.ConfigCommit)))
	}
	for _, s := range res.Report.Stages {
		e.rec.Stage(s.Name, time.Duration(s.Millis*float64(time.Millisecond)))
	}
	e.rec.Placeholders(res.Report.Placeholders)
}

// timeoutOption maps the --fetch-timeout flag (0 = no limit) to configrepo's convention (0 = default).
func timeoutOption(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

// budgetOption maps the --fetch-budget flag (0 = no limit) to gitremote's convention (0 = default).
func budgetOption(d time.Duration) time.Duration { return timeoutOption(d) }

// retriesOption maps the --retries flag (0 = no retry) to configrepo's convention (0 = default).
func retriesOption(n int) int {
	if n <= 0 {
		return -1
	}
	return n
}

// count formats "1 file", "2 files".
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func short(commit string) string {
	if len(commit) > 12 {
		return commit[:12]
	}
	if commit == "" {
		return "working tree"
	}
	return commit
}

func displayPath(dir, p string) string {
	if rel, err := filepath.Rel(dir, p); err == nil && !strings.HasPrefix(rel, "..") {
		return filepath.ToSlash(rel)
	}
	return p
}

func checkFormat(format string) error {
	_, err := report.ParseFormat(format)
	return err
}

// printFindings writes findings to stdout in the chosen format.
func printFindings(e env, format, tool string, findings []report.Finding) error {
	e.rec.Findings(findings)
	color := false
	if f, ok := e.stdout.(*os.File); ok {
		color = colorOn(f, e.getenv)
	}
	return report.Write(e.stdout, format, findings, report.Options{Tool: tool, Color: color, Version: toolVersion()})
}

// colorOn reports whether output to f may be coloured (a terminal, NO_COLOR unset).
func colorOn(f *os.File, getenv func(string) string) bool { return report.ColorEnabled(f, getenv) }
