package migrate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/cacproj/cac/internal/golden"

	"github.com/cacproj/cac/pkg/cacerr"
	"github.com/cacproj/cac/pkg/placeholder"
	"github.com/cacproj/cac/pkg/standard"
	"github.com/cacproj/cac/pkg/values"
)

// copyTree copies testdata/samples/<name> into a fresh directory.
func copyTree(t *testing.T, name string) string {
	t.Helper()
	dst := t.TempDir()
	src := filepath.Join("testdata", "samples", name)
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// snapshot reads every file under dir into a map (relative path → content).
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(dir, p)
		files[filepath.ToSlash(rel)] = string(data)
		return nil
	})
	return files
}

// build renders a template from disk the way `cac build` does: region values over _global, then
// placeholder.Render with values.Leaf.
func build(t *testing.T, codeDir, configDir, usn, template, region string) []byte {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(codeDir, template))
	if err != nil {
		t.Fatal(err)
	}
	vals, finds, err := values.Load(os.DirFS(configDir), usn, region)
	if err != nil || len(finds) > 0 {
		t.Fatalf("load %s: %v %v", region, err, finds)
	}
	tmpl, probs := placeholder.Parse(src)
	if len(probs) > 0 {
		t.Fatalf("parse %s: %v", template, probs)
	}
	out, probs := tmpl.Render(func(p string) (string, error) {
		s, _, err := vals.Leaf(p)
		return s, err
	})
	if len(probs) > 0 {
		t.Fatalf("render %s for %s: %v", template, region, probs)
	}
	return out
}

func summary(r *Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "template: %s (%s)\n", r.Template, r.Format)
	for _, p := range r.Placeholders {
		fmt.Fprintf(&b, "placeholder: line %d %s secret=%v\n", p.Line, p.Path, p.Secret)
	}
	fmt.Fprintf(&b, "secrets: %s\n", strings.Join(r.Secrets, " "))
	for _, w := range r.Warnings {
		fmt.Fprintf(&b, "warning: %s\n", w)
	}
	return b.String()
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	golden.Check(t, filepath.Join("testdata", name+".golden"), got)
}

func TestImportGolden(t *testing.T) {
	cases := []struct {
		name, pattern string
		maps          map[string]string
	}{
		{"spring", "src/main/resources/application-{region}.properties", nil},
		{"yaml", "conf/app.{region}.yaml", nil},
		{"toml", "conf/app.{region}.toml", nil},
		{"ini", "conf/worker.{region}.ini", map[string]string{"extend.queue.url": "mq.main.url"}},
		{"nginx", "deploy/nginx.{region}.conf", nil},
		{"json", "config/settings.{region}.json", nil},
		{"shell", "deploy/env.{region}.sh", nil},
		{"k8s", "deploy/orders.{region}.yaml", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, config := copyTree(t, c.name), t.TempDir()
			before := snapshot(t, code)
			res, err := Import(context.Background(), Options{CodeDir: code, ConfigDir: config, USN: "orders", Pattern: c.pattern, Map: c.maps})
			if err != nil {
				t.Fatal(err)
			}
			if !res.Written {
				t.Fatal("nothing written")
			}
			// Every original is reproduced byte for byte by a build from disk.
			for _, s := range res.Sources {
				got := build(t, code, config, "orders", res.Template, s.Region)
				if want := before[s.File]; string(got) != want {
					t.Errorf("%s: build for %s differs:\n%q\nwant\n%q", s.File, s.Region, got, want)
				}
			}
			var ar bytes.Buffer
			ar.WriteString(summary(res))
			after := snapshot(t, code)
			fmt.Fprintf(&ar, "-- %s --\n%s\n", res.Template, after[res.Template])
			cfg := snapshot(t, config)
			var names []string
			for n := range cfg {
				names = append(names, n)
			}
			sort.Strings(names)
			for _, n := range names {
				fmt.Fprintf(&ar, "-- %s --\n%s", n, cfg[n])
			}
			checkGolden(t, "TestImportGolden/"+c.name, ar.Bytes())
			// Secret values are never in the summary.
			for _, s := range res.Secrets {
				if !strings.Contains(summary(res), s) {
					t.Errorf("secret path %s not listed", s)
				}
			}
		})
	}
}

func TestImportMergesExistingRegionFile(t *testing.T) {
	code, config := copyTree(t, "toml"), t.TempDir()
	existing := "# owned by the platform team\nenv:\n  physical: online # keep me\nmysql:\n  main:\n    ip: 10.1.0.12\n"
	if err := os.MkdirAll(filepath.Join(config, "orders"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(config, "orders", "sg.yaml"), []byte(existing), 0o644); err != nil {
		t.Fatal(err)
	}
	// us already holds another value at mysql.main.ip: the import must not overwrite it.
	if err := os.WriteFile(filepath.Join(config, "orders", "us.yml"), []byte("mysql:\n  main:\n    ip: 192.168.0.1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A standard that takes any mysql entry: this test is about free paths, not about the rules.
	std, err := standard.Load("open.yaml", []byte("mysql:\n  \"*\":\n    $any: true\n    ip: {type: string}\nextend:\n  $any: true\n  x: {type: string}\n"), standard.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := Import(context.Background(), Options{CodeDir: code, ConfigDir: config, USN: "orders", Pattern: "conf/app.{region}.toml", Standard: std})
	if err != nil {
		t.Fatal(err)
	}
	sg, _ := os.ReadFile(filepath.Join(config, "orders", "sg.yaml"))
	for _, want := range []string{"# owned by the platform team", "physical: online # keep me", "ip: 10.1.0.12"} {
		if !strings.Contains(string(sg), want) {
			t.Errorf("sg.yaml lost %q:\n%s", want, sg)
		}
	}
	us, _ := os.ReadFile(filepath.Join(config, "orders", "us.yml"))
	if !strings.Contains(string(us), "ip: 192.168.0.1") {
		t.Errorf("us.yml lost its value:\n%s", us)
	}
	if !contains(res.RegionFiles, "orders/us.yml") {
		t.Errorf("region files %v: want the existing orders/us.yml", res.RegionFiles)
	}
	var paths []string
	for _, p := range res.Placeholders {
		paths = append(paths, p.Path)
	}
	if contains(paths, "mysql.main.ip") || !contains(paths, "mysql.main_2.ip") {
		t.Errorf("placeholders %v: mysql.main.ip is taken in us, want mysql.main_2.ip", paths)
	}
	for _, s := range res.Sources {
		want, _ := os.ReadFile(filepath.Join(code, s.File))
		if got := build(t, code, config, "orders", res.Template, s.Region); !bytes.Equal(got, want) {
			t.Errorf("%s: round trip differs", s.File)
		}
	}
}

func TestImportRefusesAndLeavesDiskUntouched(t *testing.T) {
	code, config := t.TempDir(), t.TempDir()
	// Latin-1 bytes cannot live in a UTF-8 YAML file, so this import cannot be lossless.
	for r, v := range map[string]string{"sg": "caf\xe9", "us": "caf\xe8"} {
		if err := os.WriteFile(filepath.Join(code, "app."+r+".properties"), []byte("a=1\nname="+v+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	beforeCode, beforeCfg := snapshot(t, code), snapshot(t, config)
	_, err := Import(context.Background(), Options{CodeDir: code, ConfigDir: config, USN: "svc", Pattern: "app.{region}.properties"})
	var ve *VerifyError
	if !errors.As(err, &ve) || cacerr.ExitCode(err) != 1 {
		t.Fatalf("err = %v; want a VerifyError with exit code 1", err)
	}
	if ve.File != "app.sg.properties" || ve.Line != 2 {
		t.Errorf("error names %s:%d, want app.sg.properties:2", ve.File, ve.Line)
	}
	if !strings.Contains(err.Error(), "nothing was written") {
		t.Errorf("message %q does not say nothing was written", err)
	}
	if a, b := snapshot(t, code), snapshot(t, config); fmt.Sprint(a) != fmt.Sprint(beforeCode) || fmt.Sprint(b) != fmt.Sprint(beforeCfg) {
		t.Errorf("disk changed:\ncode %v\nconfig %v", a, b)
	}
}

func TestImportUsageErrors(t *testing.T) {
	code := copyTree(t, "toml")
	broken := t.TempDir()
	os.MkdirAll(filepath.Join(broken, "svc"), 0o755)
	os.WriteFile(filepath.Join(broken, "svc", "sg.yaml"), []byte("a: 1\na: 2\n"), 0o644)
	cases := []struct {
		name string
		o    Options
		want string
	}{
		{"no config dir", Options{CodeDir: code, Pattern: "conf/app.{region}.toml"}, "--config-dir"},
		{"no token", Options{CodeDir: code, ConfigDir: t.TempDir(), Pattern: "conf/app.toml"}, "exactly once"},
		{"no match", Options{CodeDir: code, ConfigDir: t.TempDir(), Pattern: "conf/x.{region}.toml"}, "no file matches"},
		{"bad map", Options{CodeDir: code, ConfigDir: t.TempDir(), Pattern: "conf/app.{region}.toml", Map: map[string]string{"a": "b c"}}, "segments"},
		{"broken region file", Options{CodeDir: code, ConfigDir: broken, USN: "svc", Pattern: "conf/app.{region}.toml"}, "fix svc/sg.yaml first"},
		{"both", Options{CodeDir: code, ConfigDir: t.TempDir(), Pattern: "conf/app.{region}.toml", Pairs: map[string]string{"conf/app.sg.toml": "sg"}}, "not both"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Import(context.Background(), c.o)
			if err == nil || cacerr.ExitCode(err) != 2 || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v (exit %d); want usage error mentioning %q", err, cacerr.ExitCode(err), c.want)
			}
		})
	}
}

func TestImportPairsAndDryRun(t *testing.T) {
	code, config := copyTree(t, "ini"), t.TempDir()
	var stderr bytes.Buffer
	res, err := Import(context.Background(), Options{CodeDir: code, ConfigDir: config, DryRun: true, Stderr: &stderr,
		Pairs: map[string]string{"conf/worker.sg.ini": "sg", "conf/worker.us.ini": "us"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Written || res.Template != "conf/CacRegion_worker.ini" {
		t.Errorf("dry run: written=%v template=%s", res.Written, res.Template)
	}
	if fmt.Sprint(res.RegionFiles) != "[sg.yaml us.yaml]" {
		t.Errorf("region files %v: want the root of a single-service config repo", res.RegionFiles)
	}
	if len(snapshot(t, config)) != 0 {
		t.Error("dry run wrote the config repo")
	}
	if _, err := os.Stat(filepath.Join(code, "conf", "CacRegion_worker.ini")); err == nil {
		t.Error("dry run wrote the template")
	}
	if !strings.Contains(stderr.String(), "would write conf/CacRegion_worker.ini") {
		t.Errorf("stderr: %s", stderr.String())
	}
	for _, leak := range []string{"k-sg-0001", "k-us-0001"} {
		if strings.Contains(stderr.String(), leak) {
			t.Errorf("stderr leaks a secret: %s", stderr.String())
		}
	}
	if fmt.Sprint(res.Secrets) != "[extend.queue.api_key]" {
		t.Errorf("secrets %v", res.Secrets)
	}
}

func TestImportBatch(t *testing.T) {
	code, config := t.TempDir(), t.TempDir()
	for _, s := range []string{"toml", "nginx", "ini"} {
		src := copyTree(t, s)
		if err := os.CopyFS(filepath.Join(code, s), os.DirFS(src)); err != nil {
			t.Fatal(err)
		}
	}
	bad := filepath.Join(code, "legacy")
	os.MkdirAll(bad, 0o755)
	os.WriteFile(filepath.Join(bad, "app.sg.properties"), []byte("name=caf\xe9\n"), 0o644)
	os.WriteFile(filepath.Join(bad, "app.us.properties"), []byte("name=caf\xe8\n"), 0o644)
	same := filepath.Join(code, "same")
	os.MkdirAll(same, 0o755)
	os.WriteFile(filepath.Join(same, "x.sg.conf"), []byte("a 1\n"), 0o644)
	os.WriteFile(filepath.Join(same, "x.us.conf"), []byte("a 1\n"), 0o644)
	jobs := []Options{
		{CodeDir: filepath.Join(code, "toml"), ConfigDir: config, USN: "orders", Pattern: "conf/app.{region}.toml"},
		{CodeDir: filepath.Join(code, "nginx"), ConfigDir: config, USN: "orders", Pattern: "deploy/nginx.{region}.conf"},
		{CodeDir: bad, ConfigDir: config, USN: "legacy", Pattern: "app.{region}.properties"},
		{CodeDir: same, ConfigDir: config, USN: "same", Pattern: "x.{region}.conf"},
		{CodeDir: filepath.Join(code, "ini"), ConfigDir: config, USN: "worker", Pairs: map[string]string{"conf/worker.sg.ini": "sg", "conf/worker.us.ini": "us", "conf/worker.eu.ini": "eu"}},
	}
	rep, err := ImportBatch(context.Background(), jobs)
	if cacerr.ExitCode(err) != 1 {
		t.Fatalf("err = %v; want exit 1 for the failed job", err)
	}
	if rep.Imported != 3 || rep.Failed != 1 || rep.Skipped != 1 || !rep.Written {
		t.Errorf("report counts: %+v", rep)
	}
	var text bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	got := strings.ReplaceAll(text.String(), code, "$CODE")
	checkGolden(t, "TestImportBatch", []byte(got))
	for _, leak := range []string{"s3cr3t", "k-sg-0001"} {
		if strings.Contains(got, leak) {
			t.Errorf("report leaks a secret value %q", leak)
		}
	}
	var js bytes.Buffer
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back BatchReport
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || len(back.Jobs) != 5 || back.Jobs[2].Exit != 1 {
		t.Errorf("json report: %v %+v", err, back)
	}
	var rules []string
	for _, f := range rep.Findings() {
		rules = append(rules, f.Rule+"@"+f.Pos.String())
	}
	if got := strings.Join(rules, " "); !strings.Contains(got, "import/verify@app.sg.properties:1") || !strings.Contains(got, "import/extend@") {
		t.Errorf("findings %s", got)
	}
	// Both files of orders share its region files; every original is reproduced.
	for _, c := range []struct{ dir, tmpl, file string }{
		{"toml", "conf/CacRegion_app.toml", "conf/app.%s.toml"},
		{"nginx", "deploy/CacRegion_nginx.conf", "deploy/nginx.%s.conf"},
	} {
		for _, r := range []string{"eu", "sg", "us"} {
			want, _ := os.ReadFile(filepath.Join(code, c.dir, fmt.Sprintf(c.file, r)))
			if got := build(t, filepath.Join(code, c.dir), config, "orders", c.tmpl, r); !bytes.Equal(got, want) {
				t.Errorf("%s %s: round trip differs", c.dir, r)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(config, "legacy")); err == nil {
		t.Error("the failed job wrote its region files")
	}
	if _, err := os.Stat(filepath.Join(config, "same")); err == nil {
		t.Error("the skipped job wrote region files")
	}
}

func TestImportTwiceIsStableAndRefusesForeignTemplate(t *testing.T) {
	code, config := copyTree(t, "yaml"), t.TempDir()
	o := Options{CodeDir: code, ConfigDir: config, USN: "orders", Pattern: "conf/app.{region}.yaml"}
	first, err := Import(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, config)
	second, err := Import(context.Background(), o)
	if err != nil {
		t.Fatalf("second import: %v", err)
	}
	if fmt.Sprint(first.Placeholders) != fmt.Sprint(second.Placeholders) || fmt.Sprint(snapshot(t, config)) != fmt.Sprint(before) {
		t.Error("a second import changed the result")
	}
	tmpl := filepath.Join(code, "conf", "CacRegion_app.yaml")
	if err := os.WriteFile(tmpl, []byte("hand: ^cac<<x.y>>\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Import(context.Background(), o); cacerr.ExitCode(err) != 2 || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("err = %v; want a usage error about the existing template", err)
	}
}

func BenchmarkImportSpring(b *testing.B) {
	code, config := filepath.Join("testdata", "samples", "spring"), b.TempDir()
	o := Options{CodeDir: code, ConfigDir: config, USN: "orders", Pattern: "src/main/resources/application-{region}.properties", DryRun: true}
	for b.Loop() {
		if _, err := Import(context.Background(), o); err != nil {
			b.Fatal(err)
		}
	}
}

// TestImportFitsTheStandard: a value takes a standard path only when it and its siblings satisfy the
// built-in standard there, in every region and over _global; else it stays under extend with a
// warning that says why.
func TestImportFitsTheStandard(t *testing.T) {
	code, config := t.TempDir(), t.TempDir()
	files := map[string]string{
		// redis: a complete entry; db: an incomplete one, and a user name the pattern refuses
		"app.sg.properties": "redis.host=redis-sg.internal\nredis.port=6379\ndb.host=db-sg.internal\ndb.user=${DB_USER:app_sg}\n",
		"app.us.properties": "redis.host=redis-us.internal\nredis.port=6380\ndb.host=db-us.internal\ndb.user=${DB_USER:app_us}\n",
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(code, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	res, err := Import(context.Background(), Options{CodeDir: code, ConfigDir: config, USN: "shop", Pattern: "app.{region}.properties"})
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, p := range res.Placeholders {
		paths = append(paths, p.Path)
	}
	if got := strings.Join(paths, " "); got != "redis.main.domain redis.main.port extend.db.host extend.db.user" {
		t.Errorf("placeholders %s", got)
	}
	var why []string
	for _, w := range res.Warnings {
		if w.Rule == RuleKeptFree {
			why = append(why, w.String())
		}
	}
	want := []string{
		"app.sg.properties:3: [sg] extend.db.host: kept under extend: mysql.main.domain would be part of mysql.main, which fails mustAll: must contain all of port, username, password, database; missing: port, password, database (import/standard)",
		`app.sg.properties:4: [sg] extend.db.user: kept under extend: mysql.main.username fails pattern: the value "${DB_USER:app_sg}" does not match the pattern [A-Za-z0-9_.-]{1,32} (the whole value must match). Database user name (import/standard)`,
	}
	if strings.Join(why, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings:\n%s\nwant\n%s", strings.Join(why, "\n"), strings.Join(want, "\n"))
	}
}
