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
	"github.com/cacproj/cac/pkg/report"
	"github.com/cacproj/cac/pkg/values"
)

func writeFiles(t testing.TB, root string, files map[string]string) {
	t.Helper()
	for p, data := range files {
		full := filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func setup(t testing.TB, cfg map[string]string, code map[string]string) (string, string) {
	t.Helper()
	bare := gitfixture.Bare(t, t.TempDir(), "cfg", map[string]map[string]string{"main": cfg}, "main")
	codeDir := t.TempDir()
	writeFiles(t, codeDir, code)
	return bare, codeDir
}

func TestFailedBuildKeepsPreviousOutput(t *testing.T) {
	bare, code := setup(t, map[string]string{"sg.yaml": "a: 1\n", "us.yaml": "a: 2\n"},
		map[string]string{"CacRegion_x.ini": "a=^cac<<a>>\n"})
	opt := Options{CodeDir: code, ConfigRepo: bare}
	if _, err := Run(context.Background(), opt); err != nil {
		t.Fatal(err)
	}
	out := opt.OutPath()
	before, err := os.ReadFile(filepath.Join(out, "us", "x.ini"))
	if err != nil || string(before) != "a=2\n" {
		t.Fatalf("first build: %q %v", before, err)
	}
	// a stale temp dir from a build killed earlier is cleaned up by the next successful build
	stale := filepath.Join(filepath.Dir(out), ".cac-tmp-cac-2718281828")
	writeFiles(t, stale, map[string]string{"sg/x.ini": "partial"})

	writeFiles(t, code, map[string]string{"CacRegion_x.ini": "a=^cac<<a>>\nb=^cac<<b>>\n"})
	res, err := Run(context.Background(), opt)
	if !cacerr.Is(err, cacerr.KindFindings) || len(res.Findings) != 2 {
		t.Fatalf("want 2 findings (b missing in both regions), got %v %v", err, res.Findings)
	}
	after, _ := os.ReadFile(filepath.Join(out, "us", "x.ini"))
	if string(after) != "a=2\n" {
		t.Fatalf("failed build damaged the previous output: %q", after)
	}

	writeFiles(t, code, map[string]string{"CacRegion_x.ini": "a=^cac<<a>>!\n"})
	if _, err := Run(context.Background(), opt); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(out, "sg", "x.ini")); string(got) != "a=1!\n" {
		t.Fatalf("second build: %q", got)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Fatalf("stale temp dir not removed: %v", err)
	}
	entries, _ := os.ReadDir(filepath.Dir(out))
	if len(entries) != 1 {
		t.Fatalf("leftovers beside the output: %v", entries)
	}
	got, err := ReadOutput(out)
	if err != nil {
		t.Fatal(err)
	}
	r := got.Report
	if len(r.Files) != 2 || r.Files[0].Region != "sg" || r.Placeholders != 1 || r.Outcome != OutcomeSuccess {
		t.Fatalf("report: %+v", r)
	}
	if f, ok := got.Tree.File("sg", "x.ini"); !ok || string(f.Data) != "a=1!\n" || f.Mode != 0o644 {
		t.Fatalf("read back sg/x.ini: %+v %v", f, ok)
	}
}

func TestNoWriteRendersInMemory(t *testing.T) {
	bare, code := setup(t, map[string]string{"user/sg.yaml": "a: 1\n"}, map[string]string{"CacRegion_x.ini": "a=^cac<<a>>\n"})
	res, err := Run(context.Background(), Options{CodeDir: code, ConfigRepo: bare, USN: "user", NoWrite: true})
	if err != nil {
		t.Fatal(err)
	}
	if f, _ := res.Tree.File("sg", "x.ini"); string(f.Data) != "a=1\n" || res.Dir != "" {
		t.Fatalf("tree %v, dir %q", res.Tree, res.Dir)
	}
	if _, err := os.Stat(filepath.Join(code, "output")); !os.IsNotExist(err) {
		t.Fatalf("NoWrite wrote output: %v", err)
	}
}

type rejectAll struct{}

func (rejectAll) Validate(region, usn string, v *values.Node) []report.Finding {
	return []report.Finding{{Pos: report.Pos{File: region + ".yaml", Line: 1}, Region: region, Rule: "test", Message: "rejected", Severity: report.SeverityError}}
}

func TestValidationAndRenderFindingsTogether(t *testing.T) {
	bare, code := setup(t, map[string]string{"sg.yaml": "a: 1\n"},
		map[string]string{"CacRegion_x.ini": "a=^cac<<nope>>\nb=^cacx\n"})
	res, err := Run(context.Background(), Options{CodeDir: code, ConfigRepo: bare, Validator: rejectAll{}})
	if !cacerr.Is(err, cacerr.KindFindings) {
		t.Fatal(err)
	}
	var rules []string
	for _, f := range res.Findings {
		rules = append(rules, f.Rule)
	}
	if got := strings.Join(rules, ","); got != "placeholder/unresolved,placeholder/malformed,test" {
		t.Fatalf("findings: %s", got)
	}
	if _, err := os.Stat(filepath.Join(code, "output")); !os.IsNotExist(err) {
		t.Fatalf("a failed build wrote output: %v", err)
	}
}

func TestBadValuesStopBeforeRender(t *testing.T) {
	bare, code := setup(t, map[string]string{"sg.yaml": "a: [\n"}, map[string]string{"CacRegion_x.ini": "a=^cac<<a>>\n"})
	res, err := Run(context.Background(), Options{CodeDir: code, ConfigRepo: bare})
	if !cacerr.Is(err, cacerr.KindFindings) || len(res.Findings) != 1 || res.Findings[0].Rule != "yaml/syntax" || res.Findings[0].File != "sg.yaml" {
		t.Fatalf("got %v %+v", err, res.Findings)
	}
}

// BenchmarkBuild renders one service (10 templates of ~40 lines) for 16 regions from a local
// bare config repo: the whole pipeline including clone and atomic write.
func BenchmarkBuild(b *testing.B) {
	cfg := map[string]string{}
	for r := 0; r < 16; r++ {
		cfg[fmt.Sprintf("user/region-%02d.yaml", r)] = fmt.Sprintf("mysql:\n  main:\n    ip: 10.%d.0.1\n    port: 3306\nredis:\n  main:\n    ip: 10.%d.0.2\n    port: 6379\n", r, r)
	}
	code := map[string]string{}
	for i := 0; i < 10; i++ {
		var sb strings.Builder
		for l := 0; l < 10; l++ {
			fmt.Fprintf(&sb, "[s%d]\nhost = \"^cac<<mysql.main.ip>>\"\nport = ^cac<<mysql.main.port>>\ncache = \"^cac<<redis.main.ip>>:^cac<<redis.main.port>>\"\n", l)
		}
		code[fmt.Sprintf("conf/CacRegion_f%d.toml", i)] = sb.String()
	}
	bare, codeDir := setup(b, cfg, code)
	opt := Options{CodeDir: codeDir, ConfigRepo: bare, USN: "user"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Run(context.Background(), opt); err != nil {
			b.Fatal(err)
		}
	}
}
