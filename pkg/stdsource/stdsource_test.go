package stdsource

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cacproj/cac/internal/gitserver"
	"github.com/cacproj/cac/pkg/cacerr"
	"github.com/cacproj/cac/pkg/gitremote"
	"github.com/cacproj/cac/pkg/report"
	"github.com/cacproj/cac/pkg/standard"
	"github.com/cacproj/cac/pkg/values"
)

func parseValues(t testing.TB, file, src string) *values.Node {
	t.Helper()
	n, probs := values.Parse(file, []byte(src))
	if len(probs) > 0 {
		t.Fatalf("parse %s: %v", file, probs)
	}
	return n
}

func brief(fs []report.Finding) string {
	var lines []string
	for _, f := range fs {
		lines = append(lines, fmt.Sprintf("%s %s %s", f.Pos, f.Path, f.Rule))
	}
	return strings.Join(lines, "\n")
}

// fast retries quickly.
var fast = gitremote.Policy{Retries: 2, Backoff: time.Millisecond}

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
func checkRemoteStandard(t *testing.T, s *standard.Standard, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	in := standard.Input{USN: "svc", Values: parseValues(t, "svc/r.yaml", "extend: {a: 1}\nport: x\n")}
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
	s, err := Open(t.Context(), filepath.Join(dir, "rules", "standard.yaml"), Options{})
	checkRemoteStandard(t, s, err)
	if _, err := Open(t.Context(), filepath.Join(dir, "nope.yaml"), Options{}); cacerr.ExitCode(err) != 2 {
		t.Errorf("missing file: %v (exit %d), want exit 2", err, cacerr.ExitCode(err))
	}
}

func TestOpenDefault(t *testing.T) {
	s, err := Open(t.Context(), "", Options{})
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

// etagServer serves files with an ETag and Last-Modified and answers conditional requests with
// 304; it counts full answers and 304s.
type etagServer struct {
	*httptest.Server
	mu        sync.Mutex
	files     map[string]string
	full, not atomic.Int64
}

func newETagServer(t *testing.T, files map[string]string) *etagServer {
	e := &etagServer{files: files}
	e.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		data, ok := e.files[r.URL.Path]
		e.mu.Unlock()
		if !ok {
			t.Errorf("unexpected request %s %s", r.Method, r.URL.Path)
			http.NotFound(w, r)
			return
		}
		tag := fmt.Sprintf("%q", fmt.Sprintf("%x", sha256.Sum256([]byte(data))))
		w.Header().Set("ETag", tag)
		w.Header().Set("Last-Modified", "Mon, 02 Jan 2006 15:04:05 GMT")
		if r.Header.Get("If-None-Match") == tag {
			e.not.Add(1)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		e.full.Add(1)
		w.Write([]byte(data))
	}))
	t.Cleanup(e.Close)
	return e
}

func (e *etagServer) set(path, data string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.files[path] = data
}

// portFinding validates port: x; "port type" when the standard wants an int.
func portFinding(t *testing.T, s *standard.Standard) string {
	t.Helper()
	return brief(s.Validate(standard.Input{USN: "svc", Values: parseValues(t, "svc/r.yaml", "extend: {a: 1}\nport: x\n")}))
}

func TestOpenURLRevalidates(t *testing.T) {
	srv := newETagServer(t, map[string]string{"/r/standard.yaml": remoteStandard, "/r/whitelist.yaml": remoteWhitelist})
	// a token in the URL must never reach a message
	ref := strings.Replace(srv.URL, "http://", "http://bot:tok-SECRET-1@", 1) + "/r/standard.yaml"
	var stderr bytes.Buffer
	opt := Options{CacheDir: t.TempDir(), Policy: fast, Stderr: &stderr}
	s, err := Open(t.Context(), ref, opt)
	checkRemoteStandard(t, s, err)
	if srv.full.Load() != 2 || srv.not.Load() != 0 {
		t.Errorf("first open: %d full answers, %d 304s; want 2 and 0", srv.full.Load(), srv.not.Load())
	}
	if s.Name != srv.URL+"/r/standard.yaml" {
		t.Errorf("name %q", s.Name)
	}

	// unchanged: revalidated, not downloaded again
	s, err = Open(t.Context(), ref, opt)
	checkRemoteStandard(t, s, err)
	if srv.full.Load() != 2 || srv.not.Load() != 2 {
		t.Errorf("second open: %d full answers, %d 304s; want 2 and 2", srv.full.Load(), srv.not.Load())
	}

	// changed: the new rules apply at once
	srv.set("/r/standard.yaml", strings.Replace(remoteStandard, "port: {type: int}", "port: {type: string}", 1))
	s, err = Open(t.Context(), ref, opt)
	if err != nil {
		t.Fatal(err)
	}
	if got := portFinding(t, s); got != "" || srv.full.Load() != 3 {
		t.Errorf("changed standard: findings %q after %d full answers; want none after 3", got, srv.full.Load())
	}

	// the server is down: the cached copy, with a warning naming the standard
	srv.Close()
	s, err = Open(t.Context(), ref, opt)
	if err != nil {
		t.Fatal(err)
	}
	if got := portFinding(t, s); got != "" {
		t.Errorf("cached standard is the old one: %q", got)
	}
	warn := stderr.String()
	if !strings.Contains(warn, "cac: WARNING: using the cached copy of "+srv.URL+"/r/standard.yaml; it may be out of date") ||
		strings.Contains(warn, "tok-SECRET") || strings.Contains(warn, "bot") {
		t.Errorf("warning:\n%s", warn)
	}

	// without a cache, an unreachable server is a remote failure
	if _, err := Open(t.Context(), ref, Options{Policy: fast}); cacerr.ExitCode(err) != 3 || strings.Contains(err.Error(), "tok-SECRET") {
		t.Errorf("no cache, server down: %v (exit %d)", err, cacerr.ExitCode(err))
	}
}

func TestFetchURLErrors(t *testing.T) {
	var hits atomic.Int64
	srv := fileServer(t, map[string]string{"/down.yaml": "500"}, &hits)
	_, _, err := New(Options{Policy: fast}).Read(t.Context(), srv.URL+"/down.yaml")
	if cacerr.ExitCode(err) != 3 || hits.Load() != 3 {
		t.Errorf("5xx: %v (exit %d) after %d requests; want exit 3 after 3", err, cacerr.ExitCode(err), hits.Load())
	}
	missing := httptest.NewServer(http.NotFoundHandler())
	defer missing.Close()
	if _, _, err := New(Options{Policy: fast}).Read(t.Context(), missing.URL+"/x.yaml"); cacerr.ExitCode(err) != 2 || !strings.Contains(err.Error(), "404") {
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
		s, err := Open(t.Context(), ref, Options{Policy: fast})
		checkRemoteStandard(t, s, err)
		if err == nil && s.Name != "org/standard.yaml" {
			t.Errorf("%s: name %q", ref, s.Name)
		}
	}

	cache := t.TempDir()
	if _, _, err := New(Options{CacheDir: cache, Policy: fast}).Read(t.Context(), repo+"//org/standard.yaml@main"); err != nil {
		t.Fatal(err)
	}
	before := srv.Requests()
	data, _, err := New(Options{CacheDir: cache, Policy: fast}).Read(t.Context(), repo+"//org/standard.yaml@main")
	if err != nil || string(data) != remoteStandard || srv.Requests() != before+1 {
		t.Errorf("cached fetch: %v, %d new requests, want 1 (ls-remote)", err, srv.Requests()-before)
	}

	cases := []struct {
		ref  string
		exit int
		want string
	}{
		{repo + "//org/standard.yaml@nope", 2, `no branch or tag "nope"`},
		{repo + "//org/missing.yaml@main", 2, "read org/missing.yaml from"},
		{srv.RepoURL("absent.git") + "//standard.yaml", 2, "repository not found: check the URL"},
	}
	for _, c := range cases {
		_, _, err := New(Options{Policy: fast}).Read(t.Context(), c.ref)
		if cacerr.ExitCode(err) != c.exit || err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v (exit %d), want exit %d containing %q", c.ref, err, cacerr.ExitCode(err), c.exit, c.want)
		}
	}

	srv.Inject(gitserver.Fault{Status: 500}, gitserver.Fault{Status: 500}, gitserver.Fault{Status: 500}, gitserver.Fault{Status: 500})
	if _, _, err := New(Options{Policy: fast}).Read(t.Context(), repo+"//org/standard.yaml@main"); cacerr.ExitCode(err) != 3 {
		t.Errorf("server failing: %v (exit %d), want exit 3", err, cacerr.ExitCode(err))
	}
	srv.Inject(gitserver.Fault{Status: 500})
	if _, _, err := New(Options{Policy: fast}).Read(t.Context(), repo+"//org/standard.yaml@main"); err != nil {
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
		r, err := LoadRegistry(t.Context(), c.ref, Options{Policy: fast})
		if cacerr.ExitCode(err) != c.exit {
			t.Errorf("%s: %v (exit %d), want exit %d", c.ref, err, cacerr.ExitCode(err), c.exit)
			continue
		}
		if err == nil && (strings.Join(r.Names(), ",") != c.names || r.Source != c.ref || !r.Has(r.Names()[0]) || r.Has("x")) {
			t.Errorf("%s: names %v", c.ref, r.Names())
		}
	}
}

// A git ref that moves is followed on the next run; an unchanged one costs one ls-remote; an
// unreachable server leaves the cached copy in use, with a warning.
func TestOpenGitRefMoved(t *testing.T) {
	root, work := t.TempDir(), t.TempDir()
	runGit(t, root, "init", "-q", "--bare", "-b", "main", "rules.git")
	runGit(t, work, "init", "-q", "-b", "main")
	writeFiles(t, work, map[string]string{"org/standard.yaml": remoteStandard, "org/whitelist.yaml": remoteWhitelist})
	runGit(t, work, "add", ".")
	runGit(t, work, "commit", "-q", "-m", "standard")
	runGit(t, work, "push", "-q", filepath.Join(root, "rules.git"), "main")
	srv, err := gitserver.Start(root, gitserver.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ref := srv.RepoURL("rules.git") + "//org/standard.yaml@main"
	var stderr bytes.Buffer
	opt := Options{CacheDir: t.TempDir(), Policy: fast, Stderr: &stderr}
	s, err := Open(t.Context(), ref, opt)
	checkRemoteStandard(t, s, err)

	before := srv.Requests()
	s, err = Open(t.Context(), ref, opt)
	checkRemoteStandard(t, s, err)
	if n := srv.Requests() - before; n != 1 {
		t.Errorf("unchanged ref: %d requests, want 1 (ls-remote)", n)
	}

	writeFiles(t, work, map[string]string{"org/standard.yaml": strings.Replace(remoteStandard, "port: {type: int}", "port: {type: string}", 1)})
	runGit(t, work, "commit", "-q", "-am", "port is a string")
	runGit(t, work, "push", "-q", filepath.Join(root, "rules.git"), "main")
	s, err = Open(t.Context(), ref, opt)
	if err != nil {
		t.Fatal(err)
	}
	if got := portFinding(t, s); got != "" {
		t.Errorf("moved ref: old rules still applied: %q", got)
	}

	srv.Close()
	s, err = Open(t.Context(), ref, opt)
	if err != nil {
		t.Fatal(err)
	}
	if got := portFinding(t, s); got != "" {
		t.Errorf("cached copy is not the latest fetched: %q", got)
	}
	if !strings.Contains(stderr.String(), "cac: WARNING: using the cached copy of "+ref+"; it may be out of date") {
		t.Errorf("no warning naming the ref:\n%s", stderr.String())
	}
}
