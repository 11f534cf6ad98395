package pipeline

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cacproj/cac/pkg/cacerr"
)

func testOutput(t *testing.T, usn string) string {
	t.Helper()
	tree := Tree{}
	tree.Add("sg", "conf/app.ini", File{Data: []byte("a=1\n"), Mode: 0o644})
	tree.Add("sg", "bin/run.sh", File{Data: []byte("run\n"), Mode: 0o755})
	tree.Add("us", "conf/app.ini", File{Data: []byte("a=2\n"), Mode: 0o644})
	dir := filepath.Join(t.TempDir(), "out")
	o := &Output{Tree: tree, Report: &Report{USN: usn, Outcome: OutcomeSuccess, Regions: []string{"sg", "us"}, Files: tree.FileReports()}}
	if err := WriteOutput(dir, o); err != nil {
		t.Fatal(err)
	}
	if o.Dir != dir {
		t.Fatalf("Dir %q after WriteOutput", o.Dir)
	}
	return dir
}

func TestReadOutputRoundTrip(t *testing.T) {
	dir := testOutput(t, "user")
	o, err := ReadOutput(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(o.Tree.Regions(), ","); got != "sg,us" {
		t.Fatalf("regions %s", got)
	}
	if got := strings.Join(o.Tree.Paths("sg"), ","); got != "bin/run.sh,conf/app.ini" {
		t.Fatalf("paths %s", got)
	}
	if f, ok := o.Tree.File("sg", "bin/run.sh"); !ok || f.Mode != 0o755 || string(f.Data) != "run\n" {
		t.Fatalf("run.sh %+v", f)
	}
	if o.Report.USN != "user" || o.Dir != dir || string(o.Tree.Contents()["us"]["conf/app.ini"]) != "a=2\n" {
		t.Fatalf("output %+v", o)
	}
}

// A report of another shape, or a tree that differs from what the report lists, is refused
// with the file named.
func TestReadOutputStrict(t *testing.T) {
	report := func(dir string) string { return filepath.Join(dir, ReportFile) }
	tests := []struct {
		name   string
		change func(dir string) error
		want   string
	}{
		{"unknown field", func(dir string) error {
			return os.WriteFile(report(dir), []byte(`{"code":{"commit":"c0ffee"},"outcome":"success","files":[]}`), 0o644)
		}, `json: unknown field "code"`},
		{"unknown outcome", func(dir string) error {
			b, _ := os.ReadFile(report(dir))
			return os.WriteFile(report(dir), []byte(strings.Replace(string(b), `"success"`, `"fine"`, 1)), 0o644)
		}, `unknown outcome "fine"`},
		{"trailing data", func(dir string) error {
			b, _ := os.ReadFile(report(dir))
			return os.WriteFile(report(dir), append(b, []byte("{}")...), 0o644)
		}, "data after the report object"},
		{"extra file", func(dir string) error {
			return os.WriteFile(filepath.Join(dir, "sg", "stray.ini"), []byte("x"), 0o644)
		}, "sg/stray.ini is not listed in " + ReportFile},
		{"changed file", func(dir string) error {
			return os.WriteFile(filepath.Join(dir, "us", "conf", "app.ini"), []byte("a=3\n"), 0o644)
		}, "us/conf/app.ini differs"},
		{"missing file", func(dir string) error { return os.RemoveAll(filepath.Join(dir, "us")) }, "us/conf/app.ini, missing on disk"},
		{"no report", func(dir string) error { return os.Remove(report(dir)) }, "is not the output of cac build"},
		{"no dir", os.RemoveAll, "no build output in "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := testOutput(t, "")
			if err := tt.change(dir); err != nil {
				t.Fatal(err)
			}
			_, err := ReadOutput(dir)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !cacerr.Is(err, cacerr.KindUsage) {
				t.Fatalf("err = %v, want usage error containing %q", err, tt.want)
			}
			if strings.Contains(tt.name, "field") && !strings.Contains(err.Error(), report(dir)) {
				t.Fatalf("err = %v does not name the report", err)
			}
		})
	}
}

func TestFindOutput(t *testing.T) {
	code := t.TempDir()
	if got, err := FindOutput(code, "user"); err != nil || got != filepath.Join(code, "output", "cac", "user") {
		t.Fatalf("with usn: %s %v", got, err)
	}
	if got, _ := FindOutput(code, ""); got != filepath.Join(code, "output", "cac") {
		t.Fatalf("nothing built: %s", got)
	}
	one := testOutput(t, "user")
	if err := os.MkdirAll(filepath.Join(code, "output", "cac"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(one, filepath.Join(code, "output", "cac", "user")); err != nil {
		t.Fatal(err)
	}
	if got, err := FindOutput(code, ""); err != nil || got != filepath.Join(code, "output", "cac", "user") {
		t.Fatalf("the only service: %s %v", got, err)
	}
	if err := os.Rename(testOutput(t, "cart"), filepath.Join(code, "output", "cac", "cart")); err != nil {
		t.Fatal(err)
	}
	if _, err := FindOutput(code, ""); err == nil || !strings.Contains(err.Error(), "several services (cart, user): set --usn") {
		t.Fatalf("two services: %v", err)
	}
}
