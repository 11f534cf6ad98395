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
// one service's republish into the full repo (the steady-state cost of a pipeline).
func BenchmarkPublishFleet(b *testing.B) {
	services, regions := envInt("CAC_BENCH_SERVICES", 300), envInt("CAC_BENCH_REGIONS", 16)
	for b.Loop() {
		dir := b.TempDir()
		usns, err := WriteFleet(dir, services, regions, 3, "1")
		if err != nil {
			b.Fatal(err)
		}
		g := newGitopsRepo(b, map[string]string{"README.md": "fleet\n"})
		start := time.Now()
		for _, usn := range usns {
			if _, err := Publish(context.Background(), g.options(usn, readOutput(b, filepath.Join(dir, usn)))); err != nil {
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
		res, err := Publish(context.Background(), g.options(usns[0], readOutput(b, filepath.Join(again, usns[0]))))
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
