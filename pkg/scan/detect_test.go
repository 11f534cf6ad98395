package scan

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cacproj/cac/pkg/cacerr"
)

// compared returns the region literals the scanner reports in src, in order.
func compared(file, src string) []string {
	toks := syntaxFor(file).lex(src, nil)
	var tk tokens
	tk.index(src, toks)
	var out []string
	for i, t := range toks {
		if t.kind == tString && t.text(src) == "prod" && tk.isComparedLiteral(i) {
			out = append(out, t.text(src))
		}
	}
	return out
}

func TestComparedLiteral(t *testing.T) {
	tests := []struct {
		file, src string
		want      int
	}{
		{"a.go", `if env == "prod" {}`, 1},
		{"a.go", `if "prod" != env {}`, 1},
		{"a.go", `switch env { case "dev", "prod": }`, 1},
		{"a.go", `if strings.HasPrefix(env, "prod") {}`, 1},
		{"a.go", `log.Print("prod")`, 0},
		{"a.go", `m := map[string]int{"prod": 1}`, 0},
		{"a.go", `x := "prod"`, 0},
		{"a.go", `// env == "prod"`, 0},
		{"a.go", "s := `env == \"prod\"`", 0},
		{"a.go", `f("prod", a == b)`, 0},
		{"a.java", `if (Objects.equals(env, "prod")) {}`, 1},
		{"a.java", `if (List.of("prod", "pre").contains(env)) {}`, 1},
		{"a.java", `String s = cfg.get("prod");`, 0},
		{"a.kt", `when (env) { "prod" -> a() }`, 1},
		{"a.js", `if (env === "prod") {}`, 1},
		{"a.js", `const re = /"/; if (x) {}` + "\n" + `y = env == "prod"`, 1},
		{"a.js", "const t = `line\n${env} == \"prod\"`", 0},
		{"a.ts", `if (["prod"].indexOf(env) >= 0) {}`, 1},
		{"a.py", `if env in {"prod"}: pass`, 1},
		{"a.py", `if env in ("prod",): pass`, 1},
		{"a.py", `print("prod")`, 0},
		{"a.py", "s = '''\nenv == \"prod\"\n'''", 0},
		{"a.py", `x = 1 # env == "prod"`, 0},
		{"a.rb", "case env\nwhen \"prod\" then 1\nend", 1},
		{"a.php", `if (strcmp($env, 'prod') === 0) {}`, 1},
		{"a.php", `if (in_array($env, array('dev', 'prod'))) {}`, 1},
		{"a.php", `$x = ['prod' => 1];`, 0},
		{"a.php", `#[Route("prod")]` + "\n" + `function f() {}`, 0},
	}
	for _, tt := range tests {
		if got := len(compared(tt.file, tt.src)); got != tt.want {
			t.Errorf("%s %q: %d comparisons, want %d", tt.file, tt.src, got, tt.want)
		}
	}
}

func TestFindAddresses(t *testing.T) {
	tests := []struct {
		lit, line string
		want      []string
	}{
		{"10.1.2.3", "", []string{"10.1.2.3"}},
		{"host=10.1.2.3:3306;db=x", "", []string{"10.1.2.3:3306"}},
		{"http://10.1.2.3/x, https://api.partner.io/y.", "", []string{"http://10.1.2.3/x", "https://api.partner.io/y"}},
		{"1.2.3", "", nil},
		{"1.2.3.4.5", "", nil},
		{"v1.2.3.4", "", nil},
		{"1.2.3.4", `String version = "1.2.3.4";`, nil},
		{"127.0.0.1", "", nil},
		{"0.0.0.0:80", "", nil},
		{"255.255.255.0", "", nil},
		{"999.1.1.1", "", nil},
		{"::1", "", nil},
		{"fe80::1%eth0", "", []string{"fe80::1%eth0"}},
		{"12:30:45", "", nil},
		{"std::vector", "", nil},
		{"http://localhost:8080", "", nil},
		{"http://%s:%d/", "", nil},
		{"http://${HOST}/", "", nil},
		{"http://HOST:PORT/", "", nil},
		{"https://www.w3.org/2001/XMLSchema", "", nil},
		{"http://svc.example.com", "", nil},
		{"kafka-1.sg.internal:9092", "", []string{"kafka-1.sg.internal:9092"}},
		{"java.net.URL", "", nil},
		{"com.example.Foo", "", nil},
		{"app.yaml", "", nil},
		{"ops@company.com", "", nil},
		{"redis.default.svc", "", []string{"redis.default.svc"}},
		{"github.com/go-git/go-git/v5", "", nil},
		{"see db.corp.com/x and 10.1.2.3/24", "", []string{"10.1.2.3"}},
	}
	for _, tt := range tests {
		var got []string
		for _, a := range findAddresses(tt.lit, func() string { return tt.line }) {
			got = append(got, a.text)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("findAddresses(%q) = %q, want %q", tt.lit, got, tt.want)
		}
	}
}

func TestRedactsPasswords(t *testing.T) {
	a := findAddresses("amqp://user:hunter2@mq.corp.com:5672/", func() string { return "" })
	if len(a) != 1 || strings.Contains(redact(a[0]), "hunter2") {
		t.Fatalf("password not redacted: %+v", a)
	}
}

func TestPerEnvFileNames(t *testing.T) {
	s, err := newScanner(Options{Root: ".", Regions: []string{"prod", "sg-prod", "us1", "online"}})
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]string{
		"app-prod.yaml":             "prod",
		"conf/app-sg-prod.yaml":     "sg-prod",
		"application_US1.yml":       "us1",
		"config.online.toml":        "online",
		"conf/us1/app.ini":          "us1",
		".env.prod":                 "prod",
		"production.yaml":           "",
		"conf/app.yaml":             "",
		"conf/onlinestore/app.yaml": "",
	}
	for name, want := range tests {
		f, ok := s.perEnvFile(name)
		if ok != (want != "") || f.Region != want {
			t.Errorf("perEnvFile(%q) = %q, %v; want %q", name, f.Region, ok, want)
		}
	}
}

func TestEnvHost(t *testing.T) {
	s, err := newScanner(Options{Root: ".", Regions: []string{"sg-prod", "us1"}})
	if err != nil {
		t.Fatal(err)
	}
	for host, want := range map[string]bool{
		"redis.sg.internal":         true,
		"mysql.ns.svc":              true,
		"db-us1.corp.com":           true,
		"api.sg-prod.company.com":   true,
		"mq.corp.com:5672":          true,
		"github.com":                false,
		"rbac.authorization.k8s.io": false,
		"us1x.corp.com":             false,
	} {
		if got := s.envHost(host); got != want {
			t.Errorf("envHost(%q) = %v, want %v", host, got, want)
		}
	}
}

// write creates files under dir from a path → content map.
func write(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestSkips(t *testing.T) {
	dir := t.TempDir()
	hit := "package x\nvar ok = region == \"us1\"\n"
	write(t, dir, map[string]string{
		"src/a.go":                  hit,
		".git/hooks/a.go":           hit,
		".github/workflows/a.go":    hit,
		"vendor/lib/a.go":           hit,
		"web/node_modules/lib/a.js": hit,
		"output/cac/us1/a.go":       hit,
		"build/out/a.go":            hit,
		"conf/CacRegion_a.go":       hit,
		"src/a_test.go":             hit,
		"src/blob.go":               "\x00\x01" + hit,
		"web/app.min.js":            hit,
		"package-lock.json":         `{"resolved": "https://registry.corp.com/x"}`,
		".cac.yaml":                 "configRepo: https://git.corp.com/cfg.git\n",
		"docs/us1/notes.md":         "region == \"us1\"\n",
	})
	fs, err := Run(context.Background(), Options{Root: dir, Regions: []string{"us1"},
		Exclude: []string{"*_test.go", "build/**"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 1 || fs[0].File != "src/a.go" || fs[0].Line != 2 || fs[0].Col != 20 {
		t.Fatalf("want only src/a.go:2:20, got %v", fs)
	}
	fs, err = Run(context.Background(), Options{Root: dir, Regions: []string{"us1"}, Paths: []string{"src", "src/a.go"},
		Exclude: []string{"src/blob.go", "src/a_test.go"}})
	if err != nil || len(fs) != 1 {
		t.Fatalf("Paths src + src/a.go: want the one hit once, got %v, %v", fs, err)
	}
	fs, err = Run(context.Background(), Options{Root: dir, Regions: []string{"us1"}, Paths: []string{"build", "output"},
		OutDir: "build/out"})
	if err != nil || len(fs) != 1 || fs[0].File != "output/cac/us1/a.go" {
		t.Fatalf("OutDir build/out: want only output/cac/us1/a.go, got %v, %v", fs, err)
	}
}

func TestRunUsageErrors(t *testing.T) {
	dir := t.TempDir()
	for name, opt := range map[string]Options{
		"missing root":      {Root: filepath.Join(dir, "nope")},
		"path outside root": {Root: dir, Paths: []string{"../x"}},
		"missing path":      {Root: dir, Paths: []string{"nope"}},
		"bad glob":          {Root: dir, Exclude: []string{"[a"}},
	} {
		_, err := Run(context.Background(), opt)
		if !cacerr.Is(err, cacerr.KindUsage) {
			t.Errorf("%s: err = %v, want a usage error", name, err)
		}
	}
}

func TestRunCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Run(ctx, sampleOptions()); err != context.Canceled {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}
