package main

import (
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/cacproj/cac/pkg/configrepo"
	"github.com/cacproj/cac/pkg/envs"
	"github.com/cacproj/cac/pkg/obs"
	"github.com/cacproj/cac/pkg/pipeline"
	"github.com/cacproj/cac/pkg/shard"
)

type fleetFlags struct {
	out, cache, shard string
	offline           bool
	retries, workers  int
	timeout           time.Duration
	usns              []string // nil: every service
	start             time.Time
}

// shardFlag is --shard I/N, else GitLab's CI_NODE_INDEX/CI_NODE_TOTAL, else every service.
func shardFlag(flag string, e env) (shard.Spec, error) {
	if flag != "" {
		return shard.Parse(flag)
	}
	if s, ok, err := shard.FromEnv(e.getenv); err != nil || ok {
		return s, err
	}
	return shard.All, nil
}

// buildFleet is `cac build --all` and `cac build --usn a,b,c`: the services of a monorepo built in
// one process (docs/design.md §4).
func buildFleet(cmd *cobra.Command, c *common, e env, ff fleetFlags) error {
	if err := checkFormat(c.format); err != nil {
		return err
	}
	spec, err := shardFlag(ff.shard, e)
	if err != nil {
		return err
	}
	v, err := loadStandard(cmd.Context(), c)
	if err != nil {
		return err
	}
	out := ff.out
	if out == "" {
		out = pipeline.DefaultOut
	}
	opt := pipeline.FleetOptions{
		Options: pipeline.Options{
			CodeDir:    c.dir,
			OutDir:     out,
			ConfigRepo: c.configRepo,
			Branch:     c.branch,
			Regions:    c.regions,
			Fetch: configrepo.Options{Cache: ff.cache, OfflineFallback: ff.offline, Retries: retriesOption(ff.retries),
				Timeout: timeoutOption(ff.timeout), Budget: budgetOption(c.fetchBudget)},
			Validator:    v,
			ConfigChecks: []pipeline.ConfigCheck{envs.TodoFindings},
			Getenv:       e.getenv,
			Stderr:       e.stderr,
			Tool:         "cac " + toolVersion(),
		},
		USNs:     ff.usns,
		Shard:    spec,
		Workers:  ff.workers,
		Progress: progress(e.stderr),
	}
	res, err := pipeline.RunFleet(cmd.Context(), opt)
	if res != nil && len(res.Findings) > 0 {
		if perr := printFindings(e, c.format, "cac build", res.Findings); perr != nil {
			return perr
		}
	}
	if res != nil {
		r := res.Report
		if r.Offline {
			e.rec.Degrade(fmt.Sprintf("config repo %s unreachable: built from the cached clone of branch %s at commit %s (--offline-fallback)",
				r.ConfigRepo, r.ConfigBranch, short(r.ConfigCommit)))
		}
		fmt.Fprintf(e.stderr, "config %s @ %s (%s)\n", r.ConfigRepo, r.ConfigBranch, short(r.ConfigCommit))
		if len(r.Skipped) > 0 {
			fmt.Fprintf(e.stderr, "skipped %s without a folder in the code repo\n", count(len(r.Skipped), "service"))
		}
		fmt.Fprintf(e.stderr, "shard %s: built %s (%s) to %s in %s\n", r.Shard, count(len(r.Services), "service"), count(r.Files, "file"),
			displayPath(absDir(c.dir), res.Dir), time.Since(ff.start).Round(time.Millisecond))
	}
	return err
}

// progress reports a fleet build's progress on stderr: one line redrawn in place on a terminal,
// else a plain line at every tenth of the services.
func progress(w io.Writer) func(done, total int) {
	lw, ok := w.(*obs.LogWriter)
	if ok && lw.Terminal() {
		return func(done, total int) {
			fmt.Fprintf(w, "\rbuilding services: %d/%d", done, total)
			if done == total {
				fmt.Fprintln(w)
			}
		}
	}
	return func(done, total int) {
		if done*10/total != (done-1)*10/total {
			fmt.Fprintf(w, "built %d/%d services (%d%%)\n", done, total, done*100/total)
		}
	}
}

// absDir is dir made absolute (as it is when it cannot be).
func absDir(dir string) string {
	if abs, err := filepath.Abs(dir); err == nil {
		return abs
	}
	return dir
}
