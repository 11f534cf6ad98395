package review

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cacproj/cac/internal/gitfixture"
	"github.com/cacproj/cac/internal/gitserver"
	"github.com/cacproj/cac/pkg/cacerr"
	"github.com/cacproj/cac/pkg/configrepo"
	"github.com/cacproj/cac/pkg/diff"
	"github.com/cacproj/cac/pkg/standard"
)

// gitCmd runs the git CLI in dir, isolated from the machine's and user's configuration.
func gitCmd(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+dir, "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for p, content := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// codeRepo makes a code repo with the git CLI: a commit of base on main, then, when head is not
// nil, a branch feature with head's files laid over it (checked out). It returns the repo's dir.
func codeRepo(t *testing.T, base, head map[string]string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "code")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	gitCmd(t, dir, "init", "-q", "-b", "main")
	writeFiles(t, dir, base)
	gitCmd(t, dir, "add", "-A")
	gitCmd(t, dir, "commit", "-q", "-m", "base")
	if head != nil {
		gitCmd(t, dir, "checkout", "-q", "-b", "feature")
		writeFiles(t, dir, head)
		gitCmd(t, dir, "add", "-A")
		gitCmd(t, dir, "commit", "-q", "-m", "head")
	}
	return dir
}

func noEnv(string) string { return "" }

// files lists "region/path status" of a diff, in order.
func files(r *diff.Result) []string {
	var out []string
	for _, reg := range r.Regions {
		for _, f := range reg.Files {
			out = append(out, reg.Name+"/"+f.Path+" "+string(f.Status))
		}
	}
	return out
}

func unifiedOf(t *testing.T, r *diff.Result, region, path string) string {
	t.Helper()
	for _, reg := range r.Regions {
		for _, f := range reg.Files {
			if reg.Name == region && f.Path == path {
				return f.Unified
			}
		}
	}
	t.Fatalf("no diff of %s/%s in %v", region, path, files(r))
	return ""
}

func equal(t *testing.T, what string, got, want any) {
	t.Helper()
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if string(g) != string(w) {
		t.Errorf("%s = %s, want %s", what, g, w)
	}
}

func noRetry() configrepo.Options { return configrepo.Options{Retries: -1} }

// TestRunFromGitObjects: base and head are read from git objects, each with the config branch
// named like it; an uncommitted edit in the work tree is not part of the head.
func TestRunFromGitObjects(t *testing.T) {
	cfg := gitfixture.Bare(t, t.TempDir(), "cfg", map[string]map[string]string{
		"main":    {"sg.yaml": "db: {ip: 10.0.0.1, port: 3306}\n", "us.yaml": "db: {ip: 10.1.0.1, port: 3306}\n"},
		"feature": {"sg.yaml": "db: {ip: 10.0.0.1, port: 3306}\n", "us.yaml": "db: {ip: 10.1.0.2, port: 3307}\n"},
	}, "main")
	code := codeRepo(t,
		map[string]string{"conf/CacRegion_app.ini": "host=^cac<<db.ip>>\n", "README.md": "not a template\n"},
		map[string]string{"conf/CacRegion_app.ini": "host=^cac<<db.ip>>\nport=^cac<<db.port>>\n"})
	// Not committed: would not even build.
	writeFiles(t, code, map[string]string{"conf/CacRegion_app.ini": "broken=^cac<<db.nope>>\n", "conf/CacRegion_new.ini": "x=^cac<<db.ip>>\n"})

	res, err := Run(context.Background(), Options{CodeDir: code, ConfigRepo: cfg, Base: "main", Getenv: noEnv, Fetch: noRetry()})
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "base side", res.Base, Side{Name: "main", CodeCommit: gitCmd(t, code, "rev-parse", "main"),
		ConfigBranch: "main", ConfigCommit: res.Base.ConfigCommit})
	equal(t, "head side", res.Head, Side{Name: "feature", CodeCommit: gitCmd(t, code, "rev-parse", "feature"),
		ConfigBranch: "feature", ConfigCommit: res.Head.ConfigCommit})
	if res.Base.ConfigCommit == "" || res.Base.ConfigCommit == res.Head.ConfigCommit {
		t.Errorf("config commits: base %q, head %q: want two different commits", res.Base.ConfigCommit, res.Head.ConfigCommit)
	}
	equal(t, "files", files(res.Diff), []string{"sg/conf/app.ini modified", "us/conf/app.ini modified"})
	equal(t, "sg", unifiedOf(t, res.Diff, "sg", "conf/app.ini"), "@@ -1 +1,2 @@\n host=10.0.0.1\n+port=3306\n")
	equal(t, "us", unifiedOf(t, res.Diff, "us", "conf/app.ini"), "@@ -1 +1,2 @@\n-host=10.1.0.1\n+host=10.1.0.2\n+port=3307\n")
	if len(res.Findings) != 0 {
		t.Errorf("findings: %v", res.Findings)
	}

	// --regions keeps only the named regions.
	res, err = Run(context.Background(), Options{CodeDir: code, ConfigRepo: cfg, Base: "main", Regions: []string{"us"}, Getenv: noEnv, Fetch: noRetry()})
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "files with --regions us", files(res.Diff), []string{"us/conf/app.ini modified"})

	// Base and head from the CI's variables; the head revision is the checkout, whatever
	// GITHUB_HEAD_REF says the branch is called (it names the config branch).
	env := map[string]string{"GITHUB_BASE_REF": "main", "GITHUB_HEAD_REF": "feature"}
	res, err = Run(context.Background(), Options{CodeDir: code, ConfigRepo: cfg, Getenv: func(k string) string { return env[k] }, Fetch: noRetry()})
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "sides from CI variables", []string{res.Base.Name, res.Head.Name, res.Head.CodeCommit}, []string{"main", "feature", gitCmd(t, code, "rev-parse", "HEAD")})
}

// TestRunMonorepo: the service lives in a subdirectory; only its templates are rendered.
func TestRunMonorepo(t *testing.T) {
	cfg := gitfixture.Bare(t, t.TempDir(), "cfg", map[string]map[string]string{
		"main": {"user/sg.yaml": "name: user-sg\n", "order/sg.yaml": "name: order-sg\n"},
	}, "main")
	code := codeRepo(t,
		map[string]string{
			"services/user/CacRegion_app.ini":  "name=^cac<<name>>\n",
			"services/order/CacRegion_app.ini": "name=^cac<<name>>\n",
		},
		map[string]string{
			"services/user/CacRegion_app.ini":       "name=^cac<<name>>\nregion=^cac<<_cac.region>>\n",
			"services/user/deploy/CacRegion_k8s.sh": "echo ^cac<<name>>\n",
			"services/order/CacRegion_app.ini":      "order changed ^cac<<name>>\n",
		})
	res, err := Run(context.Background(), Options{CodeDir: filepath.Join(code, "services", "user"), ConfigRepo: cfg, USN: "user",
		Base: "main", Getenv: noEnv, Fetch: noRetry()})
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "files", files(res.Diff), []string{"sg/app.ini modified", "sg/deploy/k8s.sh added"})
	equal(t, "app.ini", unifiedOf(t, res.Diff, "sg", "app.ini"), "@@ -1 +1,2 @@\n name=user-sg\n+region=sg\n")
	equal(t, "head config branch falls back", []any{res.Head.ConfigBranch, res.Head.ConfigFallback}, []any{"main", true})
}

// TestRunBaseDoesNotBuild: the first adoption: the base has no working config, so it is shown
// as empty, with a note, and the head's files as added.
func TestRunBaseDoesNotBuild(t *testing.T) {
	cfg := gitfixture.Bare(t, t.TempDir(), "cfg", map[string]map[string]string{
		"main":    {"sg.yaml": "db: {ip: 10.0.0.1}\n"},
		"feature": {"sg.yaml": "db: {ip: 10.0.0.1, port: 3306}\n"},
	}, "main")
	code := codeRepo(t,
		map[string]string{"CacRegion_app.ini": "port=^cac<<db.port>>\n"}, // db.port is not on main
		map[string]string{"CacRegion_app.ini": "port=^cac<<db.port>>\nhost=^cac<<db.ip>>\n"})
	var stderr strings.Builder
	res, err := Run(context.Background(), Options{CodeDir: code, ConfigRepo: cfg, Base: "main", Getenv: noEnv, Stderr: &stderr, Fetch: noRetry()})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(res.Base.Note, "the base does not build (") || !strings.HasSuffix(res.Base.Note, "); every file is shown as new") {
		t.Errorf("base note = %q", res.Base.Note)
	}
	if !strings.Contains(stderr.String(), "cac: base main: the base does not build") {
		t.Errorf("stderr does not tell: %q", stderr.String())
	}
	equal(t, "files", files(res.Diff), []string{"sg/app.ini added"})
	equal(t, "region status", res.Diff.Regions[0].Status, diff.Added)
}

// TestRunHeadDoesNotBuild: the head's findings come back with an exit-1 error and no diff.
func TestRunHeadDoesNotBuild(t *testing.T) {
	cfg := gitfixture.Bare(t, t.TempDir(), "cfg", map[string]map[string]string{"main": {"sg.yaml": "db: {ip: 10.0.0.1}\n"}}, "main")
	code := codeRepo(t,
		map[string]string{"CacRegion_app.ini": "host=^cac<<db.ip>>\n"},
		map[string]string{"CacRegion_app.ini": "host=^cac<<db.ip>>\nport=^cac<<db.port>>\n"})
	res, err := Run(context.Background(), Options{CodeDir: code, ConfigRepo: cfg, Base: "main", Getenv: noEnv, Fetch: noRetry()})
	if err == nil {
		t.Fatal("no error for a head that does not build")
	}
	if got := cacerr.ExitCode(err); got != 1 {
		t.Errorf("exit code %d, want 1 (%v)", got, err)
	}
	if res == nil || res.Diff != nil || len(res.Findings) != 1 {
		t.Fatalf("result = %+v, want one finding and no diff", res)
	}
	f := res.Findings[0]
	if f.File != "CacRegion_app.ini" || f.Line != 2 || f.Region != "sg" || f.Path != "db.port" {
		t.Errorf("finding = %+v, want CacRegion_app.ini:2 region sg path db.port", f)
	}
	if res.Head.CodeCommit != gitCmd(t, code, "rev-parse", "feature") {
		t.Errorf("head commit %q", res.Head.CodeCommit)
	}
}

// TestRunFetchesBaseFromOrigin: a single-branch CI clone lacks the base branch; it is fetched
// from origin (a real HTTP git server), for a service in a subdirectory too.
func TestRunFetchesBaseFromOrigin(t *testing.T) {
	cfg := gitfixture.Bare(t, t.TempDir(), "cfg", map[string]map[string]string{"main": {"user/sg.yaml": "name: user-sg\nport: 80\n"}}, "main")
	upstream := codeRepo(t,
		map[string]string{"svc/user/CacRegion_app.ini": "name=^cac<<name>>\n"},
		map[string]string{"svc/user/CacRegion_app.ini": "name=^cac<<name>>\nport=^cac<<port>>\n"})
	root := t.TempDir()
	gitCmd(t, root, "clone", "-q", "--bare", upstream, filepath.Join(root, "code.git"))
	srv, err := gitserver.Start(root, gitserver.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ci := filepath.Join(t.TempDir(), "ci")
	gitCmd(t, filepath.Dir(ci), "clone", "-q", "--single-branch", "--branch", "feature", srv.RepoURL("code.git"), ci)
	if out := gitCmd(t, ci, "branch", "-a", "--list", "*main*"); out != "" {
		t.Fatalf("the CI clone has main already: %q", out)
	}
	requests := srv.Requests()
	res, err := Run(context.Background(), Options{CodeDir: filepath.Join(ci, "svc", "user"), ConfigRepo: cfg, USN: "user",
		Base: "main", Getenv: noEnv, Fetch: noRetry()})
	if err != nil {
		t.Fatal(err)
	}
	if srv.Requests() == requests {
		t.Error("the base was not fetched from origin")
	}
	equal(t, "base commit", res.Base.CodeCommit, gitCmd(t, upstream, "rev-parse", "main"))
	equal(t, "head commit", res.Head.CodeCommit, gitCmd(t, upstream, "rev-parse", "feature"))
	equal(t, "diff", unifiedOf(t, res.Diff, "sg", "app.ini"), "@@ -1 +1,2 @@\n name=user-sg\n+port=80\n")
}

// TestRunCodeRepo: in the config repo's pipeline, --code-repo names the code; each side's code is
// fetched at the branch named like the config branch, else the code repo's default branch.
func TestRunCodeRepo(t *testing.T) {
	gitRoot := t.TempDir()
	gitfixture.Bare(t, gitRoot, "cfg", map[string]map[string]string{
		"main":       {"sg.yaml": "a: 1\nb: 2\n"},
		"feature":    {"sg.yaml": "a: 1\nb: 2\n"},
		"cfg-change": {"sg.yaml": "a: 1\nb: 3\n"},
	}, "main")
	code := gitfixture.Bare(t, gitRoot, "code", map[string]map[string]string{
		"main":    {"CacRegion_app.ini": "a=^cac<<a>>\n"},
		"feature": {"CacRegion_app.ini": "a=^cac<<a>>\nb=^cac<<b>>\n"},
	}, "main")
	srv, err := gitserver.Start(gitRoot, gitserver.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	commit := func(branch string) string {
		out, err := exec.Command("git", "--git-dir", code, "rev-parse", branch).Output()
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(out))
	}
	tests := []struct {
		head         string
		codeCommit   string
		wantUnified  string
		wantFallback bool
	}{
		// The code repo has a same-named branch: its code is the head's.
		{head: "feature", codeCommit: commit("feature"), wantUnified: "@@ -1 +1,2 @@\n a=1\n+b=2\n"},
		// A config-only change: the code repo has no such branch, its default branch is used.
		{head: "cfg-change", codeCommit: commit("main")},
	}
	for _, tt := range tests {
		t.Run(tt.head, func(t *testing.T) {
			res, err := Run(context.Background(), Options{CodeDir: t.TempDir(), CodeRepo: srv.RepoURL("code.git"), ConfigRepo: srv.RepoURL("cfg.git"),
				Base: "main", Head: tt.head, Getenv: noEnv, Fetch: noRetry()})
			if err != nil {
				t.Fatal(err)
			}
			equal(t, "head", []string{res.Head.Name, res.Head.CodeCommit, res.Head.ConfigBranch}, []string{tt.head, tt.codeCommit, tt.head})
			equal(t, "base code", res.Base.CodeCommit, commit("main"))
			if tt.wantUnified == "" {
				equal(t, "files", files(res.Diff), []string(nil))
				return
			}
			equal(t, "diff", unifiedOf(t, res.Diff, "sg", "app.ini"), tt.wantUnified)
		})
	}
	// A pull request from a fork: the fork's main is stale; the base comes from upstream.
	fork := gitfixture.Bare(t, gitRoot, "fork", map[string]map[string]string{
		"main":    {"CacRegion_app.ini": "stale=^cac<<a>>\n"},
		"feature": {"CacRegion_app.ini": "a=^cac<<a>>\nb=^cac<<b>>\nfork=^cac<<a>>\n"},
	}, "main")
	t.Run("fork", func(t *testing.T) {
		res, err := Run(context.Background(), Options{CodeDir: t.TempDir(), CodeRepo: srv.RepoURL("fork.git"), BaseCodeRepo: srv.RepoURL("code.git"),
			ConfigRepo: srv.RepoURL("cfg.git"), Base: "main", Head: "feature", Getenv: noEnv, Fetch: noRetry()})
		if err != nil {
			t.Fatal(err)
		}
		out, _ := exec.Command("git", "--git-dir", fork, "rev-parse", "feature").Output()
		equal(t, "sides", []string{res.Base.CodeCommit, res.Head.CodeCommit}, []string{commit("main"), strings.TrimSpace(string(out))})
		equal(t, "diff", unifiedOf(t, res.Diff, "sg", "app.ini"), "@@ -1 +1,3 @@\n a=1\n+b=2\n+fork=1\n")
	})
}

// TestRunSecrets: secret values are masked per region and path, base and head paired, so a
// rotated secret reads as changed and an unchanged one as unchanged, even when one region's new
// value is another region's current one.
func TestRunSecrets(t *testing.T) {
	res := runSecrets(t)
	equal(t, "sg", unifiedOf(t, res.Diff, "sg", "app.ini"),
		"@@ -1,2 +1,3 @@\n host=10.0.0.1\n-password=<secret sg:db.password>\n+password=<secret sg:db.password: changed>\n+# v2\n")
	equal(t, "us", unifiedOf(t, res.Diff, "us", "app.ini"),
		"@@ -1,2 +1,3 @@\n-host=10.1.0.1\n+host=10.1.0.2\n password=<secret us:db.password>\n+# v2\n")
	out, _ := json.Marshal(res)
	for _, s := range []string{"pw-sg-old", "pw-us-cur"} {
		if strings.Contains(string(out), s) {
			t.Errorf("the result shows secret %q", s)
		}
	}
}

// runSecrets reviews two regions: sg's password rotated to the value us has, us's unchanged.
func runSecrets(t *testing.T) *Result {
	t.Helper()
	std, err := standard.Load("std.yaml", []byte("db:\n  ip: {type: string}\n  password: {type: string, secret: true}\n"), standard.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := gitfixture.Bare(t, t.TempDir(), "cfg", map[string]map[string]string{
		"main":    {"sg.yaml": "db: {ip: 10.0.0.1, password: pw-sg-old}\n", "us.yaml": "db: {ip: 10.1.0.1, password: pw-us-cur}\n"},
		"feature": {"sg.yaml": "db: {ip: 10.0.0.1, password: pw-us-cur}\n", "us.yaml": "db: {ip: 10.1.0.2, password: pw-us-cur}\n"},
	}, "main")
	tmpl := "host=^cac<<db.ip>>\npassword=^cac<<db.password>>\n"
	code := codeRepo(t, map[string]string{"CacRegion_app.ini": tmpl}, map[string]string{"CacRegion_app.ini": tmpl + "# v2\n"})
	res, err := Run(context.Background(), Options{CodeDir: code, ConfigRepo: cfg, Base: "main", Secrets: std, Getenv: noEnv, Fetch: noRetry()})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestPairSecrets(t *testing.T) {
	got := pairSecrets(
		map[string]string{"us:db.pw": "b", "sg:db.pw": "a", "sg:gone": "g"},
		map[string]string{"sg:db.pw": "a2", "us:db.pw": "b", "sg:new": "n"})
	equal(t, "pairs", got, []diff.Secret{
		{Path: "sg:db.pw", Region: "sg", Base: "a", Head: "a2"},
		{Path: "sg:gone", Region: "sg", Base: "g"},
		{Path: "sg:new", Region: "sg", Head: "n"},
		{Path: "us:db.pw", Region: "us", Base: "b", Head: "b"},
	})
}
