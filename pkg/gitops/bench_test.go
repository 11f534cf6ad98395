package gitops

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/cacproj/cac/pkg/pipeline"
)

// BenchmarkPublishFleet publishes a fleet (CAC_BENCH_SERVICES × CAC_BENCH_REGIONS, default 300 × 16,
// 3 files each) into one GitOps repo the way pipelines do, one Publish per service, then measures
// one service's republish into the full repo (the steady-state cost of a pipeline): with the GitOps
// repo fetched into memory for each publish, and kept in a --cache directory.
func BenchmarkPublishFleet(b *testing.B) {
	b.Run("memory", func(b *testing.B) { benchmarkPublishFleet(b, false) })
	b.Run("cache", func(b *testing.B) { benchmarkPublishFleet(b, true) })
}

func benchmarkPublishFleet(b *testing.B, cached bool) {
	services, regions := envInt("CAC_BENCH_SERVICES", 300), envInt("CAC_BENCH_REGIONS", 16)
	for b.Loop() {
		cache := ""
		if cached {
			cache = b.TempDir()
		}
		dir := b.TempDir()
		usns, err := WriteFleet(dir, services, regions, 3, "1")
		if err != nil {
			b.Fatal(err)
		}
		g := newGitopsRepo(b, map[string]string{"README.md": "fleet\n"})
		start := time.Now()
		for _, usn := range usns {
			o := g.options(usn, readOutput(b, filepath.Join(dir, usn)))
			o.Cache = cache
			if _, err := Publish(context.Background(), o); err != nil {
				b.Fatal(err)
			}
		}
		fill := time.Since(start)
		b.ReportMetric(fill.Seconds(), "fill-s")
		b.ReportMetric(float64(fill.Milliseconds())/float64(services), "ms/service-publish")

		again := b.TempDir()
		if _, err := WriteFleet(again, 1, regions, 3, "2"); err != nil {
			b.Fatal(err)
		}
		start = time.Now()
		o := g.options(usns[0], readOutput(b, filepath.Join(again, usns[0])))
		o.Cache = cache
		res, err := Publish(context.Background(), o)
		if err != nil || res.UpToDate {
			b.Fatal(res, err)
		}
		b.ReportMetric(float64(time.Since(start).Milliseconds()), "ms/republish-full-repo")
	}
}

func readOutput(b *testing.B, dir string) *pipeline.Output {
	b.Helper()
	o, err := pipeline.ReadOutput(dir)
	if err != nil {
		b.Fatal(err)
	}
	return o
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}
