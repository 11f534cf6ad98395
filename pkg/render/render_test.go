package render

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/cacproj/cac/pkg/report"
	"github.com/cacproj/cac/pkg/values"
)

func write(t *testing.T, root, rel, data string, mode os.FileMode) {
	t.Helper()
	p := filepath.Join(root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
}

func TestDiscover(t *testing.T) {
	root := t.TempDir()
	outside := t.TempDir()
	write(t, root, "conf/CacRegion_app.toml", "host = \"^cac<<db.ip>>\"\n", 0o640)
	write(t, root, "bin/CacRegion_start.sh", "#!/bin/sh\necho ^cac<<db.ip>>\n", 0o755)
	write(t, root, "conf/other.toml", "x = 1\n", 0o644)
	write(t, root, ".git/CacRegion_x", "^cac<<a>>", 0o644)
	write(t, root, "output/cac/sg/conf/CacRegion_app.toml", "^cac<<a>>", 0o644)
	write(t, root, "output/.cac-tmp-123/CacRegion_y", "^cac<<a>>", 0o644)
	write(t, root, "CacRegion_logo.png", "\x89PNG\r\n\x00\x00", 0o644)
	write(t, root, "CacRegion_latin1.ini", "a=1\nname=caf\xe9\n", 0o644)
	write(t, root, "CacRegion_typo.yaml", "a: ^cac<<a.b\n", 0o644)
	write(t, outside, "secret.yaml", "x: 1\n", 0o644)
	if err := os.Symlink(filepath.Join(outside, "secret.yaml"), filepath.Join(root, "CacRegion_link.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("conf/other.toml", filepath.Join(root, "CacRegion_inside.toml")); err != nil {
		t.Fatal(err)
	}

	tpls, findings, err := Discover(root, []string{"output/cac"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tp := range tpls {
		got = append(got, tp.Path+"->"+tp.Out+" "+tp.Mode.String())
	}
	sort.Strings(got)
	want := []string{
		"CacRegion_inside.toml->inside.toml -rw-r--r--",
		"CacRegion_typo.yaml->typo.yaml -rw-r--r--",
		"bin/CacRegion_start.sh->bin/start.sh -rwxr-xr-x",
		"conf/CacRegion_app.toml->conf/app.toml -rw-r-----",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("templates:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	report.Sort(findings)
	var fs []string
	for _, f := range findings {
		fs = append(fs, f.Pos.String()+" "+f.Rule)
	}
	wantF := []string{
		"CacRegion_latin1.ini:2 template/encoding",
		"CacRegion_link.yaml template/symlink",
		"CacRegion_logo.png:2 template/binary",
		"CacRegion_typo.yaml:1:4 placeholder/unterminated",
	}
	if strings.Join(fs, "\n") != strings.Join(wantF, "\n") {
		t.Fatalf("findings:\n%s\nwant:\n%s", strings.Join(fs, "\n"), strings.Join(wantF, "\n"))
	}
}

func TestRenderFindings(t *testing.T) {
	root := t.TempDir()
	write(t, root, "conf/CacRegion_app.ini", "ip=^cac<<mysql.main.ip>>\nport=^cac<<mysql.main.port>>\nall=^cac<<mysql>>\nr=^cac<<_cac.region>>\r\n", 0o644)
	tpls, findings, err := Discover(root, nil)
	if err != nil || len(findings) > 0 || len(tpls) != 1 {
		t.Fatal(err, findings)
	}
	vals, probs := values.Parse("svc/sg.yaml", []byte("mysql:\n  main:\n    ip: 10.0.0.1\n"))
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	vals = vals.With("_cac", values.Strings("region", "sg"))
	_, fnd := tpls[0].Render("sg", vals)
	if len(fnd) != 2 {
		t.Fatalf("want 2 findings, got %v", fnd)
	}
	if f := fnd[0]; f.Pos.String() != "conf/CacRegion_app.ini:2:6" || f.Region != "sg" || f.Path != "mysql.main.port" || f.Rule != "placeholder/unresolved" {
		t.Errorf("unresolved: %+v", f)
	}
	if f := fnd[1]; f.Rule != "placeholder/not-leaf" || len(f.Related) != 1 || f.Related[0].String() != "svc/sg.yaml:2:3" {
		t.Errorf("not-leaf: %+v", f)
	}
	write(t, root, "CacRegion_ok.ini", "ip=^cac<<mysql.main.ip>>\nport=^cac<<mysql.main.port>>\nr=^cac<<_cac.region>>\r\n", 0o644)
	tpls, _, _ = Discover(root, nil)
	vals2, _ := values.Parse("svc/us.yaml", []byte("mysql:\n  main: {ip: 1.1.1.1, port: 3306}\n"))
	vals2 = vals2.With("_cac", values.Strings("region", "us"))
	out, fnd := tpls[0].Render("us", vals2)
	if tpls[0].Path != "CacRegion_ok.ini" || len(fnd) > 0 || string(out) != "ip=1.1.1.1\nport=3306\nr=us\r\n" {
		t.Fatalf("render %s: %q %v", tpls[0].Path, out, fnd)
	}
}
