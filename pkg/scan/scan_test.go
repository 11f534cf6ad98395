package scan

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/cacproj/cac/internal/golden"

	"github.com/cacproj/cac/pkg/report"
)

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
		t.Run(lang, func(t *testing.T) { golden.Assert(t, runText(t, sampleOptions(lang))) })
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
			golden.Assert(t, b.Bytes())
		})
	}
}
