package scan

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/cacproj/cac/pkg/report"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// golden compares got with testdata/<test name>.golden, or rewrites it with -update.
func golden(t *testing.T, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", filepath.FromSlash(t.Name())+".golden")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (go test -update rewrites it)\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// sampleOptions is what a config repo with these regions and managed addresses would give.
func sampleOptions(paths ...string) Options {
	return Options{
		Root:    filepath.Join("testdata", "repo"),
		Paths:   paths,
		Regions: []string{"sg-prod", "us1", "online", "pre", "sim", "prod"},
		KnownValues: map[string]string{
			"10.1.2.3":                    "mysql.main.ip",
			"redis.sg.internal":           "redis.main.host",
			"redis-master":                "redis.replica.host",
			"http://pay.sg.internal:8080": "pay.url",
		},
	}
}

func runText(t *testing.T, opt Options) []byte {
	t.Helper()
	fs, err := Run(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := report.Write(&b, "text", fs, report.Options{Tool: "cac scan"}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestLanguages scans one sample per language family; the golden file is the expected findings.
func TestLanguages(t *testing.T) {
	for _, lang := range []string{"go", "java", "python", "js", "php", "config"} {
		t.Run(lang, func(t *testing.T) { golden(t, runText(t, sampleOptions(lang))) })
	}
}

// TestFormats writes the whole sample repo's findings in every report format.
func TestFormats(t *testing.T) {
	fs, err := Run(context.Background(), sampleOptions())
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range report.Formats {
		t.Run(format, func(t *testing.T) {
			var b bytes.Buffer
			if err := report.Write(&b, format, fs, report.Options{Tool: "cac scan", Version: "test"}); err != nil {
				t.Fatal(err)
			}
			golden(t, b.Bytes())
		})
	}
}
