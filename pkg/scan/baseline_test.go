package scan

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cacproj/cac/internal/golden"
	"github.com/cacproj/cac/pkg/cacerr"
	"github.com/cacproj/cac/pkg/report"
)

func TestBaseline(t *testing.T) {
	dir := t.TempDir()
	lines := []string{
		"package x",
		"",
		"func f(region string) string {",
		"\tif region == \"us1\" {",
		"\t\treturn \"http://10.9.8.7/api\"",
		"\t}",
		"\treturn \"\"",
		"}",
	}
	src := func(ls ...string) map[string]string {
		return map[string]string{"src/a.go": strings.Join(ls, "\n") + "\n", "conf/app-us1.yaml": "a: 1\n"}
	}
	scan := func() []report.Finding {
		t.Helper()
		fs, err := Run(context.Background(), Options{Root: dir, Regions: []string{"us1", "online"}})
		if err != nil {
			t.Fatal(err)
		}
		return fs
	}
	write(t, dir, src(lines...))
	accepted := scan()
	if len(accepted) != 3 {
		t.Fatalf("want 3 findings to accept, got %v", accepted)
	}
	var b bytes.Buffer
	if err := WriteBaseline(&b, accepted); err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, b.Bytes())
	path := filepath.Join(dir, "cac-scan-baseline.json")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	base, err := LoadBaseline(path)
	if err != nil {
		t.Fatal(err)
	}

	// Code moved down three lines: still the accepted findings, nothing new.
	shifted := append([]string{lines[0], "", "// a new comment", "import \"fmt\""}, lines[1:]...)
	write(t, dir, src(shifted...))
	now := scan()
	if now[1].Line == accepted[1].Line {
		t.Fatalf("test is broken: lines did not move (%v)", now)
	}
	if left := Filter(now, base); len(left) != 0 {
		t.Errorf("shifted lines should still match the baseline, got new findings %v", left)
	}

	// A new hit, and a copy of an accepted line: both are new.
	grown := append(shifted[:len(shifted)-1:len(shifted)-1],
		"\tif region == \"online\" {", "\t\tfmt.Println()", "\t}",
		"\tif region == \"us1\" {", "\t}", "}")
	write(t, dir, src(grown...))
	left := Filter(scan(), base)
	var got []string
	for _, f := range left {
		got = append(got, f.Pos.String()+" "+f.Region)
	}
	if want := "src/a.go:11:15 online,src/a.go:14:15 us1"; strings.Join(got, ",") != want {
		t.Errorf("new findings = %q, want %q", strings.Join(got, ","), want)
	}
	if Filter(left, nil) == nil {
		t.Error("a nil baseline must accept nothing")
	}
}

func TestLoadBaselineErrors(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, map[string]string{"bad.json": "{", "v2.json": `{"cacScanBaseline": 2, "findings": []}`})
	for _, name := range []string{"missing.json", "bad.json", "v2.json"} {
		if _, err := LoadBaseline(filepath.Join(dir, name)); !cacerr.Is(err, cacerr.KindUsage) {
			t.Errorf("%s: err = %v, want a usage error", name, err)
		}
	}
}
