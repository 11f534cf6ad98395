package pipeline

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cacproj/cac/internal/gitfixture"
	"github.com/cacproj/cac/pkg/cacerr"
	"github.com/cacproj/cac/pkg/shard"
)

// fleet is a config repo of services a, b (code in folder "bee"), c (no code) and d (no region
// file), and a code repo with a folder per service that has code.
func fleet(t testing.TB, services int) (cfg, code string) {
	t.Helper()
	files := map[string]string{
		"_services.yaml":  "services:\n  b: {dir: bee}\n",
		"_global/eu.yaml": "g: eu\n", "_global/us.yaml": "g: us\n",
	}
	codeFiles := map[string]string{}
	for i := range services {
		usn := fmt.Sprintf("s%03d", i)
		for _, r := range []string{"eu", "us"} {
			files[usn+"/"+r+".yaml"] = "name: " + usn + "\n"
		}
		codeFiles[usn+"/conf/CacRegion_app.ini"] = "name=^cac<<name>>\nregion=^cac<<_cac.region>>\ng=^cac<<g>>\n"
	}
	bare := gitfixture.Bare(t, t.TempDir(), "cfg", map[string]map[string]string{"main": files}, "main")
	codeDir := t.TempDir()
	writeFiles(t, codeDir, codeFiles)
	return bare, codeDir
}

func TestRunFleet(t *testing.T) {
	cfg, code := fleet(t, 3)
	gitfixture.Commit(t, cfg, "main", map[string]string{"c/eu.yaml": "name: c\n", "d/notes.txt": "no regions\n", "b/eu.yaml": "name: b\n"}, "more")
	writeFiles(t, code, map[string]string{"bee/CacRegion_b.ini": "name=^cac<<name>>\n", "d/CacRegion_d.ini": "x=^cac<<name>>\n"})
	res, err := RunFleet(context.Background(), FleetOptions{Options: Options{CodeDir: code, ConfigRepo: cfg, Branch: "main"}, Workers: 2})
	// d has no region file: it is not built (a usage error, exit 2); every other service is.
	if cacerr.ExitCode(err) != 2 || !strings.Contains(err.Error(), "service d: the config repo has no region files in d/") {
		t.Fatalf("err = %v (exit %d)", err, cacerr.ExitCode(err))
	}
	r := res.Report
	var got []string
	for _, s := range r.Services {
		got = append(got, fmt.Sprintf("%s:%s:%s:%d", s.USN, s.Dir, s.Outcome, s.Files))
	}
	if want := "b:bee:success:1 d:d:failed:0 s000:s000:success:2 s001:s001:success:2 s002:s002:success:2"; strings.Join(got, " ") != want {
		t.Errorf("services %s\nwant     %s", strings.Join(got, " "), want)
	}
	if strings.Join(r.Skipped, ",") != "c" || r.Files != 7 || r.Shard != "1/1" {
		t.Errorf("skipped %v, files %d, shard %s", r.Skipped, r.Files, r.Shard)
	}
	out := filepath.Join(code, DefaultOut)
	if data, err := os.ReadFile(filepath.Join(out, "s001", "us", "conf", "app.ini")); err != nil || string(data) != "name=s001\nregion=us\ng=us\n" {
		t.Errorf("s001/us = %q, %v", data, err)
	}
	if o, err := ReadOutput(filepath.Join(out, "b")); err != nil || o.Report.USN != "b" || len(o.Report.Files) != 1 {
		t.Errorf("b's output: %+v, %v", o, err)
	}
	if _, err := os.Stat(filepath.Join(out, FleetReportFile)); err != nil {
		t.Error(err)
	}

	// Findings of all services come back together, positioned in the code repo.
	writeFiles(t, code, map[string]string{"bee/CacRegion_b.ini": "name=^cac<<nope>>\n"})
	res, err = RunFleet(context.Background(), FleetOptions{Options: Options{CodeDir: code, ConfigRepo: cfg, Branch: "main"},
		USNs: []string{"b", "s000"}})
	if cacerr.ExitCode(err) != 1 || len(res.Findings) != 1 || res.Findings[0].File != "bee/CacRegion_b.ini" || res.Findings[0].Line != 1 {
		t.Fatalf("err %v, findings %+v", err, res.Findings)
	}
	if _, err := RunFleet(context.Background(), FleetOptions{Options: Options{CodeDir: code, ConfigRepo: cfg, Branch: "main"},
		USNs: []string{"c"}}); cacerr.ExitCode(err) != 2 || !strings.Contains(err.Error(), "no folder c/ in the code repo") {
		t.Errorf("a named service without code: %v", err)
	}
}

// The shards of a fleet build partition its services.
func TestRunFleetShards(t *testing.T) {
	cfg, code := fleet(t, 12)
	seen := map[string]int{}
	for i := 1; i <= 3; i++ {
		res, err := RunFleet(context.Background(), FleetOptions{Options: Options{CodeDir: code, ConfigRepo: cfg, Branch: "main",
			OutDir: filepath.Join(t.TempDir(), "out")}, Shard: shard.Spec{Index: i, Total: 3}})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range res.Report.Services {
			seen[s.USN]++
			if shard.Of(s.USN, 3) != i {
				t.Errorf("%s built by shard %d, belongs to %d", s.USN, i, shard.Of(s.USN, 3))
			}
		}
	}
	if len(seen) != 12 {
		t.Errorf("shards built %d of 12 services: %v", len(seen), seen)
	}
}

func TestReadServicesRefusesEscapes(t *testing.T) {
	cfg, code := fleet(t, 1)
	gitfixture.Commit(t, cfg, "main", map[string]string{"_services.yaml": "services:\n  s000: {dir: ../../etc}\n"}, "bad")
	_, err := RunFleet(context.Background(), FleetOptions{Options: Options{CodeDir: code, ConfigRepo: cfg, Branch: "main"}})
	if cacerr.ExitCode(err) != 2 || !strings.Contains(err.Error(), `_services.yaml: service s000: dir "../../etc" must be a folder below the code repo root`) {
		t.Errorf("err = %v", err)
	}
}

// BenchmarkFleetBuild builds CAC_BENCH_SERVICES services (default 50) × 2 regions in one process
// from a local bare config repo; -benchmem shows what a service costs in memory.
func BenchmarkFleetBuild(b *testing.B) {
	n := 50
	if v, err := fmt.Sscan(os.Getenv("CAC_BENCH_SERVICES"), &n); v != 1 || err != nil {
		n = 50
	}
	cfg, code := fleet(b, n)
	out := filepath.Join(b.TempDir(), "out")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := RunFleet(context.Background(), FleetOptions{Options: Options{CodeDir: code, ConfigRepo: cfg, Branch: "main", OutDir: out}}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n), "services")
}
