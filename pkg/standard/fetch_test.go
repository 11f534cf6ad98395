package standard

import (
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cacproj/cac/internal/gitserver"
	"github.com/cacproj/cac/pkg/cacerr"
)

const (
	remoteStandard  = "extend:\n  $whitelist: whitelist.yaml\n  $any: true\nport: {type: int}\n"
	remoteWhitelist = "- svc\n"
)

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// checkRemoteStandard asserts the standard and its whitelist were both read.
func checkRemoteStandard(t *testing.T, s *Standard, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	in := Input{USN: "svc", Values: parseValues(t, "svc/r.yaml", "extend: {a: 1}\nport: x\n")}
	if got := brief(s.Validate(in)); got != "svc/r.yaml:2:7 port type" {
		t.Errorf("findings: %s", got)
	}
	in.USN = "other"
	if got := brief(s.Validate(in)); !strings.Contains(got, "extend whitelist") {
		t.Errorf("whitelist not applied: %s", got)
	}
}

func TestOpenFile(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"rules/standard.yaml": remoteStandard, "rules/whitelist.yaml": remoteWhitelist})
	s, err := Open(t.Context(), filepath.Join(dir, "rules", "standard.yaml"), FetchOptions{})
	checkRemoteStandard(t, s, err)
	if _, err := Open(t.Context(), filepath.Join(dir, "nope.yaml"), FetchOptions{}); cacerr.ExitCode(err) != 2 {
		t.Errorf("missing file: %v (exit %d), want exit 2", err, cacerr.ExitCode(err))
	}
}

func TestOpenDefault(t *testing.T) {
	s, err := Open(t.Context(), "", FetchOptions{})
	if err != nil || s.Name != "rules/standard.yaml" {
		t.Fatalf("default standard: %v", err)
	}
}

// fileServer serves files and fails the test on any other route.
func fileServer(t *testing.T, files map[string]string, hits *atomic.Int64) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		data, ok := files[r.URL.Path]
		if !ok || r.Method != http.MethodGet {
			t.Errorf("unexpected request %s %s", r.Method, r.URL.Path)
			http.NotFound(w, r)
			return
		}
		if data == "500" {
			http.Error(w, "boom", http.StatusInternalServerError)
			return
		}
		w.Write([]byte(data))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestOpenURLCached(t *testing.T) {
	var hits atomic.Int64
	srv := fileServer(t, map[string]string{"/r/standard.yaml": remoteStandard, "/r/whitelist.yaml": remoteWhitelist}, &hits)
	opt := FetchOptions{CacheDir: t.TempDir()}
	s, err := Open(t.Context(), srv.URL+"/r/standard.yaml", opt)
	checkRemoteStandard(t, s, err)
	if hits.Load() != 2 {
		t.Errorf("first open: %d requests, want 2 (standard + whitelist)", hits.Load())
	}
	s, err = Open(t.Context(), srv.URL+"/r/standard.yaml", opt)
	checkRemoteStandard(t, s, err)
	if hits.Load() != 2 {
		t.Errorf("second open fetched again (%d requests); the cache must serve it", hits.Load())
	}
	if s.Name != srv.URL+"/r/standard.yaml" {
		t.Errorf("name %q", s.Name)
	}
}

func TestFetchURLErrors(t *testing.T) {
	var hits atomic.Int64
	srv := fileServer(t, map[string]string{"/down.yaml": "500"}, &hits)
	_, _, err := Fetch(t.Context(), srv.URL+"/down.yaml", FetchOptions{})
	if cacerr.ExitCode(err) != 3 || hits.Load() != attempts {
		t.Errorf("5xx: %v (exit %d) after %d requests; want exit 3 after %d", err, cacerr.ExitCode(err), hits.Load(), attempts)
	}
	missing := httptest.NewServer(http.NotFoundHandler())
	defer missing.Close()
	if _, _, err := Fetch(t.Context(), missing.URL+"/x.yaml", FetchOptions{}); cacerr.ExitCode(err) != 2 || !strings.Contains(err.Error(), "404") {
		t.Errorf("404: %v, want a usage error naming the status", err)
	}
}

func runGit(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+dir, "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

func TestOpenGit(t *testing.T) {
	root, work := t.TempDir(), t.TempDir()
	runGit(t, root, "init", "-q", "--bare", "-b", "main", "rules.git")
	runGit(t, work, "init", "-q", "-b", "main")
	writeFiles(t, work, map[string]string{"org/standard.yaml": remoteStandard, "org/whitelist.yaml": remoteWhitelist})
	runGit(t, work, "add", ".")
	runGit(t, work, "commit", "-q", "-m", "standard")
	runGit(t, work, "tag", "v1")
	runGit(t, work, "push", "-q", filepath.Join(root, "rules.git"), "main", "v1")
	srv, err := gitserver.Start(root, gitserver.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	repo := srv.RepoURL("rules.git")

	for _, ref := range []string{repo + "//org/standard.yaml@main", repo + "//org/standard.yaml@v1", repo + "//org/standard.yaml"} {
		s, err := Open(t.Context(), ref, FetchOptions{})
		checkRemoteStandard(t, s, err)
		if err == nil && s.Name != "org/standard.yaml" {
			t.Errorf("%s: name %q", ref, s.Name)
		}
	}

	cache := t.TempDir()
	if _, _, err := Fetch(t.Context(), repo+"//org/standard.yaml@main", FetchOptions{CacheDir: cache}); err != nil {
		t.Fatal(err)
	}
	before := srv.Requests()
	data, _, err := Fetch(t.Context(), repo+"//org/standard.yaml@main", FetchOptions{CacheDir: cache})
	if err != nil || string(data) != remoteStandard || srv.Requests() != before {
		t.Errorf("cached fetch: %v, %d new requests", err, srv.Requests()-before)
	}

	cases := []struct {
		ref  string
		exit int
		want string
	}{
		{repo + "//org/standard.yaml@nope", 2, `no branch or tag "nope"`},
		{repo + "//org/missing.yaml@main", 2, "read org/missing.yaml from"},
		{srv.RepoURL("absent.git") + "//standard.yaml", 2, "check the repository URL"},
	}
	for _, c := range cases {
		_, _, err := Fetch(t.Context(), c.ref, FetchOptions{})
		if cacerr.ExitCode(err) != c.exit || err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v (exit %d), want exit %d containing %q", c.ref, err, cacerr.ExitCode(err), c.exit, c.want)
		}
	}

	srv.Inject(gitserver.Fault{Status: 500}, gitserver.Fault{Status: 500}, gitserver.Fault{Status: 500})
	if _, _, err := Fetch(t.Context(), repo+"//org/standard.yaml@main", FetchOptions{}); cacerr.ExitCode(err) != 3 {
		t.Errorf("server failing: %v (exit %d), want exit 3", err, cacerr.ExitCode(err))
	}
	srv.Inject(gitserver.Fault{Status: 500})
	if _, _, err := Fetch(t.Context(), repo+"//org/standard.yaml@main", FetchOptions{}); err != nil {
		t.Errorf("one failure must be retried: %v", err)
	}
}

func TestGitRef(t *testing.T) {
	cases := []struct{ ref, repo, file, rev string }{
		{"https://h/org/rules.git//std/standard.yaml@v1", "https://h/org/rules.git", "std/standard.yaml", "v1"},
		{"http://127.0.0.1:80/r.git//standard.yaml", "http://127.0.0.1:80/r.git", "standard.yaml", ""},
		{"ssh://git@h/org/r.git//a/b.yaml@release/1.2", "ssh://git@h/org/r.git", "a/b.yaml", "release/1.2"},
	}
	for _, c := range cases {
		repo, file, rev, ok := gitRef(c.ref)
		if !ok || repo != c.repo || file != c.file || rev != c.rev {
			t.Errorf("%s: %q %q %q %v", c.ref, repo, file, rev, ok)
		}
	}
	for _, ref := range []string{"https://h/rules/standard.yaml", "rules/standard.yaml", "/abs//x.yaml"} {
		if _, _, _, ok := gitRef(ref); ok {
			t.Errorf("%s is not a git ref", ref)
		}
	}
	if got := sibling("https://h/r.git//a/standard.yaml@v1", "wl.yaml"); got != "https://h/r.git//a/wl.yaml@v1" {
		t.Errorf("git sibling %s", got)
	}
	if got := sibling("https://h/a/standard.yaml?x=1", "wl.yaml"); got != "https://h/a/wl.yaml" {
		t.Errorf("url sibling %s", got)
	}
}

func TestLoadRegistry(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"s.yaml": "- pay\n- user-center\n", "s.json": `["pay", "pay", "shop"]`, "bad.yaml": "pay: 1\n"})
	var hits atomic.Int64
	srv := fileServer(t, map[string]string{"/services": `["pay"]`, "/down": "500"}, &hits)
	cases := []struct {
		ref   string
		names string
		exit  int
	}{
		{filepath.Join(dir, "s.yaml"), "pay,user-center", 0},
		{filepath.Join(dir, "s.json"), "pay,shop", 0},
		{srv.URL + "/services", "pay", 0},
		{filepath.Join(dir, "bad.yaml"), "", 2},
		{filepath.Join(dir, "none.yaml"), "", 2},
		{srv.URL + "/down", "", 3},
	}
	for _, c := range cases {
		r, err := LoadRegistry(t.Context(), c.ref)
		if cacerr.ExitCode(err) != c.exit {
			t.Errorf("%s: %v (exit %d), want exit %d", c.ref, err, cacerr.ExitCode(err), c.exit)
			continue
		}
		if err == nil && (strings.Join(r.Names(), ",") != c.names || r.Source != c.ref || !r.Has(r.Names()[0]) || r.Has("x")) {
			t.Errorf("%s: names %v", c.ref, r.Names())
		}
	}
}
