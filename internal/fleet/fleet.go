// Package fleet generates synthetic rendered trees (services × regions × files) for benchmarks:
// BenchmarkDiffFleet uses them in memory, and `go run ./internal/fleet/fleetgen` writes them as two
// `cac build` output dirs so `make bench` can time `cac diff` against `git diff --no-index`.
package fleet

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/cacproj/cac/pkg/pipeline"
)

// Lines is the length of every generated file.
const Lines = 40

// Trees returns base and head trees (region → path → content) of services × regions × files files
// of Lines lines. changedPct percent of the files (spread evenly, deterministic) differ in one line
// on the head side.
func Trees(services, regions, files int, changedPct float64) (base, head map[string]map[string][]byte) {
	base, head = map[string]map[string][]byte{}, map[string]map[string][]byte{}
	n := 0
	for r := range regions {
		region := fmt.Sprintf("region-%02d", r)
		base[region], head[region] = map[string][]byte{}, map[string][]byte{}
		for s := range services {
			for f := range files {
				path := fmt.Sprintf("svc-%04d/conf/file-%02d.toml", s, f)
				b := content(region, s, f, -1)
				base[region][path] = b
				// The file is changed when the running count of changed files crosses an integer.
				if int(float64(n+1)*changedPct/100) > int(float64(n)*changedPct/100) {
					head[region][path] = content(region, s, f, (s+f)%Lines)
				} else {
					head[region][path] = b
				}
				n++
			}
		}
	}
	return base, head
}

// content is a TOML-ish file; line `changed` (if ≥ 0) carries a different value.
func content(region string, svc, file, changed int) []byte {
	var sb strings.Builder
	fmt.Fprintf(&sb, "# svc-%04d file %02d rendered for %s\n", svc, file, region)
	for i := 1; i < Lines; i++ {
		v := fmt.Sprintf("%s-svc%04d-%d", region, svc, i*7+file)
		if i == changed {
			v += "-changed"
		}
		fmt.Fprintf(&sb, "key_%02d = %q\n", i, v)
	}
	return []byte(sb.String())
}

// Write writes the trees of Trees under dir/base and dir/head as `cac build` output dirs
// (<dir>/<side>/<region>/<path> and the build report, through pipeline.WriteOutput) and returns
// the two dirs.
func Write(dir string, services, regions, files int, changedPct float64) (baseDir, headDir string, err error) {
	base, head := Trees(services, regions, files, changedPct)
	baseDir, headDir = filepath.Join(dir, "base"), filepath.Join(dir, "head")
	for side, t := range map[string]map[string]map[string][]byte{baseDir: base, headDir: head} {
		tree := pipeline.Tree{}
		for region, fs := range t {
			for path, b := range fs {
				tree.Add(region, path, pipeline.File{Data: b, Mode: 0o644})
			}
		}
		rep := &pipeline.Report{Outcome: pipeline.OutcomeSuccess, Regions: tree.Regions(), Files: tree.FileReports()}
		if err := pipeline.WriteOutput(side, &pipeline.Output{Tree: tree, Report: rep}); err != nil {
			return "", "", fmt.Errorf("write fleet: %w", err)
		}
	}
	return baseDir, headDir, nil
}
