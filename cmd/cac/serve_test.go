package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"

	"github.com/cacproj/cac/internal/gitfixture"
	"github.com/cacproj/cac/internal/gitserver"
	"github.com/cacproj/cac/pkg/gitops"
	"github.com/cacproj/cac/pkg/gitremote"
	"github.com/cacproj/cac/pkg/publish"
)

// TestServeReviews wires cac serve's real runner: a signed pull_request delivery makes it clone
// the head from a git server (with the GitHub token), render base and head with the config repo
// named in the head's .cac.yaml, and post the comment and status to a fake GitHub. A stale
// delivery posts nothing; a head that does not build turns the comment into the failure list.
func TestServeReviews(t *testing.T) {
	gitRoot := t.TempDir()
	gitfixture.Bare(t, gitRoot, "cfg", map[string]map[string]string{
		"main":    {"sg.yaml": "db: {ip: 10.0.0.1, password: pw-old-1}\n"},
		"feature": {"sg.yaml": "db: {ip: 10.0.0.2, password: pw-new-2}\n"},
	}, "main")
	tmpl := "host=^cac<<db.ip>>\npassword=^cac<<db.password>>\n"
	code := gitfixture.Bare(t, gitRoot, "code", map[string]map[string]string{
		"main": {"CacRegion_app.ini": tmpl}, "feature": {"CacRegion_app.ini": tmpl},
	}, "main")
	srv, err := gitserver.Start(gitRoot, gitserver.Options{Token: "ghs_T0KEN"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	head := gitfixture.Commit(t, code, "feature", map[string]string{".cac.yaml": "config-repo: " + srv.RepoURL("cfg.git") + "\n",
		"client.go": "package main\n\nconst db = \"10.0.0.2\"\n"}, "settings").String()

	gh := &fakeGitHub{token: "ghs_T0KEN", comments: map[int64]string{}}
	api := httptest.NewServer(gh)
	defer api.Close()
	std := filepath.Join(t.TempDir(), "std.yaml")
	if err := os.WriteFile(std, []byte("db:\n  ip: {type: string}\n  password: {type: string, secret: true}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"CAC_WEBHOOK_SECRET": "hook-secret", "GITHUB_TOKEN": "ghs_T0KEN"}
	var stderr bytes.Buffer
	e := env{stdout: &bytes.Buffer{}, stderr: &stderr, getenv: func(k string) string { return vars[k] }}
	c := &common{configRepo: "file:///the/flag/is/overridden/by/.cac.yaml", standard: std}
	newServer := func() (func(sha string, id string), func()) {
		url, stop := startServe(t, c, e, serveFlags{githubAPI: api.URL, maxParts: 10})
		deliver := func(sha, id string) {
			status, _ := postDelivery(t, url, "pull_request", id, map[string]any{
				"action": "synchronize", "number": 7, "repository": map[string]any{"full_name": "acme/user"},
				"pull_request": map[string]any{"number": 7,
					"head": map[string]any{"sha": sha, "ref": "feature", "repo": map[string]any{"clone_url": srv.RepoURL("code.git")}},
					"base": map[string]any{"ref": "main", "repo": map[string]any{"clone_url": srv.RepoURL("code.git")}}},
			})
			if status != http.StatusAccepted {
				t.Fatalf("delivery %s: %d", id, status)
			}
		}
		return deliver, stop
	}

	defer func() {
		if t.Failed() {
			t.Logf("cac serve's log:\n%s", stderr.String())
		}
	}()
	deliver, drain := newServer()
	deliver(head, "d1")
	drain()
	// An older delivery, late: the branch's tip is reviewed again, not the stale commit.
	deliver, drain = newServer()
	deliver("0000000000000000000000000000000000000000", "d2")
	drain()
	gh.mu.Lock()
	if len(gh.comments) != 1 || !strings.HasPrefix(gh.comments[1], "<!-- cac-diff:config part 1 -->") ||
		!strings.Contains(gh.comments[1], "+host=10.0.0.2") || !strings.Contains(gh.comments[1], "+password=<secret sg:db.password: changed>") ||
		!strings.Contains(gh.comments[1], "**Anti-corruption scan: 1 new finding**") || !strings.Contains(gh.comments[1], "| error | `client.go:3:13` | scan/hardcoded-address |") {
		t.Errorf("comments: %v", gh.comments)
	}
	want := head + " cac/diff success: 1 file changed in 1 region (+2 −2)"
	if len(gh.statuses) != 2 || gh.statuses[0] != want || gh.statuses[1] != want {
		t.Errorf("statuses %q, want twice %q", gh.statuses, want)
	}
	if len(gh.unexpected) > 0 {
		t.Errorf("unexpected requests: %v", gh.unexpected)
	}
	gh.mu.Unlock()

	broken := gitfixture.Commit(t, code, "feature", map[string]string{"CacRegion_app.ini": tmpl + "port=^cac<<db.port>>\n"}, "break").String()
	deliver, drain = newServer()
	deliver(broken, "d3")
	drain()
	gh.mu.Lock()
	defer gh.mu.Unlock()
	if len(gh.comments) != 1 || !strings.Contains(gh.comments[1], "**The head does not build** (1 problems)") || !strings.Contains(gh.comments[1], "db.port") {
		t.Errorf("comments after the break: %v", gh.comments)
	}
	if want := broken + " cac/diff failure: the head does not build: 1 problems"; len(gh.statuses) == 0 || gh.statuses[len(gh.statuses)-1] != want {
		t.Errorf("statuses %q, want last %q", gh.statuses, want)
	}
	for _, secret := range []string{"pw-old-1", "pw-new-2", "ghs_T0KEN", "hook-secret"} {
		if strings.Contains(stderr.String(), secret) || strings.Contains(gh.comments[1], secret) {
			t.Errorf("%q leaked", secret)
		}
	}
	if !strings.Contains(stderr.String(), "the head branch moved on; reviewing its tip") {
		t.Errorf("the stale delivery is not logged:\n%s", stderr.String())
	}
}

// TestServeErrorStatus: a run that cannot review (here the head's repository is gone) is not
// silent: the commit gets the cac/diff status error with the reason, without the token.
func TestServeErrorStatus(t *testing.T) {
	srv, err := gitserver.Start(t.TempDir(), gitserver.Options{Token: "ghs_T0KEN"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	gh := &fakeGitHub{token: "ghs_T0KEN", comments: map[int64]string{}}
	api := httptest.NewServer(gh)
	defer api.Close()
	vars := map[string]string{"CAC_WEBHOOK_SECRET": "hook-secret", "GITHUB_TOKEN": "ghs_T0KEN"}
	var stderr bytes.Buffer
	e := env{stdout: &bytes.Buffer{}, stderr: &stderr, getenv: func(k string) string { return vars[k] }}
	url, stop := startServe(t, &common{fetchBudget: time.Minute}, e, serveFlags{githubAPI: api.URL, maxParts: 10})
	const sha = "1234567890123456789012345678901234567890"
	status, _ := postDelivery(t, url, "pull_request", "d1", map[string]any{
		"action": "opened", "number": 7, "repository": map[string]any{"full_name": "acme/user"},
		"pull_request": map[string]any{"number": 7,
			"head": map[string]any{"sha": sha, "ref": "feature", "repo": map[string]any{"clone_url": srv.RepoURL("gone.git")}},
			"base": map[string]any{"ref": "main", "repo": map[string]any{"clone_url": srv.RepoURL("gone.git")}}},
	})
	if status != http.StatusAccepted {
		t.Fatalf("delivery: %d", status)
	}
	stop()
	gh.mu.Lock()
	defer gh.mu.Unlock()
	want := sha + " cac/diff error: cac could not review: fetch the head: fetch code repo " + srv.RepoURL("gone.git") + " (branch feature): repository not found"
	if len(gh.statuses) != 1 || !strings.HasPrefix(gh.statuses[0], want) || len([]rune(strings.TrimPrefix(gh.statuses[0], sha+" cac/diff error: "))) > 140 {
		t.Errorf("statuses %q, want one starting %q, at most 140 characters\nlog:\n%s", gh.statuses, want, stderr.String())
	}
	if len(gh.comments) != 0 || len(gh.unexpected) != 0 {
		t.Errorf("comments %v, unexpected %q", gh.comments, gh.unexpected)
	}
	for _, st := range gh.statuses {
		if strings.Contains(st, "ghs_T0KEN") || strings.Contains(st, "hook-secret") {
			t.Errorf("a secret leaked: %q", st)
		}
	}
}

// TestServeNeedsSecrets: serve refuses to start without a way to verify deliveries, or without
// the token it needs to answer them.
func TestServeNeedsSecrets(t *testing.T) {
	for _, tt := range []struct {
		vars map[string]string
		want string
	}{
		{nil, "cac: no webhook secret: set CAC_WEBHOOK_SECRET (GitHub) and/or CAC_GITLAB_WEBHOOK_TOKEN (GitLab)\n"},
		{map[string]string{"CAC_WEBHOOK_SECRET": "s"}, "cac: CAC_WEBHOOK_SECRET is set but GITHUB_TOKEN is not: the bot needs it to comment and clone\n"},
		{map[string]string{"CAC_GITLAB_WEBHOOK_TOKEN": "s"}, "cac: CAC_GITLAB_WEBHOOK_TOKEN is set but GITLAB_TOKEN is not: the bot needs it to comment and clone\n"},
	} {
		var stderr bytes.Buffer
		code := Main([]string{"serve", "--listen", "127.0.0.1:0"}, env{stdout: &bytes.Buffer{}, stderr: &stderr, getenv: func(k string) string { return tt.vars[k] }})
		if code != 2 || stderr.String() != tt.want {
			t.Errorf("exit %d, stderr %q; want 2, %q", code, stderr.String(), tt.want)
		}
	}
}

// TestServeGitLab: a Merge Request Hook with the right token is reviewed with GITLAB_TOKEN
// (cloning and the API), the note and the status land on project 42's merge request !3.
func TestServeGitLab(t *testing.T) {
	gitRoot := t.TempDir()
	gitfixture.Bare(t, gitRoot, "cfg", map[string]map[string]string{"main": {"sg.yaml": "port: 80\n"}, "more": {"sg.yaml": "port: 81\n"}}, "main")
	code := gitfixture.Bare(t, gitRoot, "code", map[string]map[string]string{
		"main": {"CacRegion_app.ini": "port=^cac<<port>>\n"}, "more": {"CacRegion_app.ini": "port=^cac<<port>>\n"},
	}, "main")
	srv, err := gitserver.Start(gitRoot, gitserver.Options{Token: "glpat-T0KEN"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	head := gitfixture.Commit(t, code, "more", map[string]string{"CacRegion_app.ini": "port=^cac<<port>>\n# more\n"}, "more").String()

	var mu sync.Mutex
	var notes, statuses []string
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v4/projects/42/merge_requests/3/notes", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("[]"))
	})
	mux.HandleFunc("POST /api/v4/projects/42/merge_requests/3/notes", func(w http.ResponseWriter, r *http.Request) {
		var in struct{ Body string }
		json.NewDecoder(r.Body).Decode(&in)
		mu.Lock()
		notes = append(notes, in.Body)
		mu.Unlock()
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(map[string]any{"id": 1, "body": in.Body})
	})
	mux.HandleFunc("POST /api/v4/projects/42/statuses/{sha}", func(w http.ResponseWriter, r *http.Request) {
		var in struct{ State, Name, Description string }
		json.NewDecoder(r.Body).Decode(&in)
		mu.Lock()
		statuses = append(statuses, r.PathValue("sha")+" "+in.Name+" "+in.State)
		mu.Unlock()
		w.WriteHeader(http.StatusCreated)
		w.Write([]byte("{}"))
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("unexpected request %s %s", r.Method, r.URL)
		http.NotFound(w, r)
	})
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("PRIVATE-TOKEN") != "glpat-T0KEN" {
			http.Error(w, `{"message":"401 Unauthorized"}`, http.StatusUnauthorized)
			return
		}
		mux.ServeHTTP(w, r)
	}))
	defer api.Close()

	vars := map[string]string{"CAC_GITLAB_WEBHOOK_TOKEN": "hook-t0ken", "GITLAB_TOKEN": "glpat-T0KEN", "CAC_STANDARD": ""}
	var stderr bytes.Buffer
	e := env{stdout: &bytes.Buffer{}, stderr: &stderr, getenv: func(k string) string { return vars[k] }}
	anyStd := filepath.Join(t.TempDir(), "std.yaml")
	if err := os.WriteFile(anyStd, []byte("$any: true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := &common{configRepo: srv.RepoURL("cfg.git"), standard: anyStd}
	url, stop := startServe(t, c, e, serveFlags{gitlabAPI: api.URL + "/api/v4", maxParts: 10})
	body, _ := json.Marshal(map[string]any{
		"object_kind": "merge_request",
		"project":     map[string]any{"id": 42, "git_http_url": srv.RepoURL("code.git")},
		"object_attributes": map[string]any{"iid": 3, "action": "open", "source_branch": "more", "target_branch": "main",
			"last_commit": map[string]any{"id": head}, "source": map[string]any{"http_url": srv.RepoURL("code.git")}},
	})
	req, _ := http.NewRequest("POST", url+"/webhook", bytes.NewReader(body))
	req.Header.Set("X-Gitlab-Event", "Merge Request Hook")
	req.Header.Set("X-Gitlab-Token", "hook-t0ken")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("delivery: %s", resp.Status)
	}
	stop()
	mu.Lock()
	defer mu.Unlock()
	if len(notes) != 1 || !strings.Contains(notes[0], "+port=81") || !strings.Contains(notes[0], "+# more") {
		t.Errorf("notes %q\nlog:\n%s", notes, stderr.String())
	}
	if len(statuses) != 1 || statuses[0] != head+" cac/diff success" {
		t.Errorf("statuses %q", statuses)
	}
}

// TestServeConfigRepo: a pull request of the config repo itself (its repository is --config-repo)
// is reviewed as cac diff --affected --post: one comment for the one service its change affects,
// rendered with that service's code from _services.yaml, and one status on the head commit.
func TestServeConfigRepo(t *testing.T) {
	gitRoot := t.TempDir()
	srv, err := gitserver.Start(gitRoot, gitserver.Options{Token: "ghs_T0KEN"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	gitfixture.Bare(t, gitRoot, "user", map[string]map[string]string{"main": {"CacRegion_app.ini": "host=^cac<<db.ip>>\n"}}, "main")
	gitfixture.Bare(t, gitRoot, "order", map[string]map[string]string{"main": {"CacRegion_app.ini": "size=^cac<<size>>\n"}}, "main")
	services := "services:\n  user: {repo: " + srv.RepoURL("user.git") + "}\n  order: {repo: " + srv.RepoURL("order.git") + "}\n"
	cfg := gitfixture.Bare(t, gitRoot, "cfg", map[string]map[string]string{"main": {
		"_services.yaml": services, "user/sg.yaml": "db: {ip: 10.0.0.1}\n", "order/sg.yaml": "size: 1\n",
	}}, "main")
	gitfixture.Commit(t, cfg, "mr", map[string]string{"_services.yaml": services, "user/sg.yaml": "db: {ip: 10.0.0.9}\n", "order/sg.yaml": "size: 1\n"}, "move the db")
	head := "0123456789abcdef0123456789abcdef01234567"

	gh := &fakeGitHub{token: "ghs_T0KEN", comments: map[int64]string{}}
	api := httptest.NewServer(gh)
	defer api.Close()
	vars := map[string]string{"CAC_WEBHOOK_SECRET": "hook-secret", "GITHUB_TOKEN": "ghs_T0KEN"}
	var stderr bytes.Buffer
	e := env{stdout: &bytes.Buffer{}, stderr: &stderr, getenv: func(k string) string { return vars[k] }}
	c := &common{configRepo: srv.RepoURL("cfg"), standard: filepath.Join(t.TempDir(), "none.yaml")}
	if err := os.WriteFile(c.standard, []byte("$any: true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	url, stop := startServe(t, c, e, serveFlags{githubAPI: api.URL, maxParts: 10})
	status, _ := postDelivery(t, url, "pull_request", "c1", map[string]any{
		"action": "opened", "number": 3, "repository": map[string]any{"full_name": "acme/config"},
		"pull_request": map[string]any{"number": 3,
			"head": map[string]any{"sha": head, "ref": "mr", "repo": map[string]any{"clone_url": srv.RepoURL("cfg.git")}},
			"base": map[string]any{"ref": "main", "repo": map[string]any{"clone_url": srv.RepoURL("cfg.git")}}},
	})
	if status != http.StatusAccepted {
		t.Fatalf("delivery: %d", status)
	}
	stop()
	gh.mu.Lock()
	defer gh.mu.Unlock()
	if len(gh.comments) != 1 || !strings.HasPrefix(gh.comments[1], "<!-- cac-diff:user part 1 -->") ||
		!strings.Contains(gh.comments[1], "-host=10.0.0.1") || !strings.Contains(gh.comments[1], "+host=10.0.0.9") {
		t.Errorf("comments: %v\ncac serve's log:\n%s", gh.comments, stderr.String())
	}
	if want := head + " cac/diff success: user: 1 file changed in 1 region (+1 −1)"; len(gh.statuses) != 1 || gh.statuses[0] != want {
		t.Errorf("statuses %q, want %q", gh.statuses, want)
	}
	if len(gh.unexpected) > 0 {
		t.Errorf("unexpected requests: %v", gh.unexpected)
	}
}

// TestServeConfigPush: a signed push to the config repo's branch feature-x refreshes the review
// of the code repo's open pull request from feature-x (its comment and cac/diff status), found
// through _services.yaml and GitHub's pull request listing; a push to a branch no pull request
// comes from posts nothing.
func TestServeConfigPush(t *testing.T) {
	gitRoot := t.TempDir()
	srv, err := gitserver.Start(gitRoot, gitserver.Options{Token: "ghs_T0KEN"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	tmpl := map[string]string{"CacRegion_app.ini": "host=^cac<<db.ip>>\n"}
	code := gitfixture.Bare(t, gitRoot, "acme/user", map[string]map[string]string{"main": tmpl, "feature-x": tmpl}, "main")
	head := gitfixture.Commit(t, code, "feature-x", map[string]string{"CacRegion_app.ini": "host=^cac<<db.ip>>\nport=1\n"}, "a port").String()
	services := "services:\n  user: {repo: " + srv.RepoURL("acme/user.git") + "}\n"
	cfg := gitfixture.Bare(t, gitRoot, "cfg", map[string]map[string]string{
		"main":      {"_services.yaml": services, "user/sg.yaml": "db: {ip: 10.0.0.1}\n"},
		"feature-x": {"_services.yaml": services, "user/sg.yaml": "db: {ip: 10.0.0.2}\n"},
		"other":     {"_services.yaml": services, "user/sg.yaml": "db: {ip: 10.0.0.7}\n"},
	}, "main")

	gh := &fakeGitHub{token: "ghs_T0KEN", comments: map[int64]string{},
		pulls: []fakePull{{Repo: "acme/user", Number: 5, Head: "feature-x", SHA: head, Base: "main"}}}
	api := httptest.NewServer(gh)
	defer api.Close()
	vars := map[string]string{"CAC_WEBHOOK_SECRET": "hook-secret", "GITHUB_TOKEN": "ghs_T0KEN"}
	var stderr bytes.Buffer
	e := env{stdout: &bytes.Buffer{}, stderr: &stderr, getenv: func(k string) string { return vars[k] }}
	c := &common{configRepo: srv.RepoURL("cfg"), usn: "user", standard: filepath.Join(t.TempDir(), "std.yaml")}
	if err := os.WriteFile(c.standard, []byte("$any: true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	push := func(id, branch, after string) {
		t.Helper()
		deliverPush(t, c, e, serveFlags{githubAPI: api.URL, maxParts: 10}, id, branch, "1111111111111111111111111111111111111111", after, srv.RepoURL("cfg.git"))
	}
	check := func(step, wantIP string, statuses int) {
		t.Helper()
		gh.mu.Lock()
		defer gh.mu.Unlock()
		if len(gh.comments) != 1 || !strings.Contains(gh.comments[1], "-host=10.0.0.1") || !strings.Contains(gh.comments[1], "+host="+wantIP) {
			t.Errorf("%s: comments %v\ncac serve's log:\n%s", step, gh.comments, stderr.String())
		}
		if len(gh.statuses) != statuses || !strings.HasPrefix(gh.statuses[len(gh.statuses)-1], head+" cac/diff success: ") {
			t.Errorf("%s: statuses %q", step, gh.statuses)
		}
		if len(gh.unexpected) > 0 {
			t.Errorf("%s: unexpected requests: %v", step, gh.unexpected)
		}
	}

	push("p1", "feature-x", "2222222222222222222222222222222222222222")
	check("first push", "10.0.0.2", 1)
	tip := gitfixture.Commit(t, cfg, "feature-x", map[string]string{"_services.yaml": services, "user/sg.yaml": "db: {ip: 10.0.0.3}\n"}, "move the db again").String()
	push("p2", "feature-x", tip)
	check("second push", "10.0.0.3", 2) // the same comment, updated

	push("p3", "other", "3333333333333333333333333333333333333333")
	check("push to a branch without pull requests", "10.0.0.3", 2)
	gh.mu.Lock()
	defer gh.mu.Unlock()
	want := []string{"/api/v3/repos/acme/user/pulls?head=acme%3Afeature-x&per_page=100&state=open",
		"/api/v3/repos/acme/user/pulls?head=acme%3Afeature-x&per_page=100&state=open",
		"/api/v3/repos/acme/user/pulls?head=acme%3Aother&per_page=100&state=open"}
	if strings.Join(gh.pullLists, "\n") != strings.Join(want, "\n") {
		t.Errorf("pull request listings %q, want %q", gh.pullLists, want)
	}
}

// deliverPush sends cac serve (flags sf, settings c, environment e) a GitHub push delivery of the
// config repo at cloneURL, signed with the secret "hook-secret", and waits for the runs it queued.
func deliverPush(t *testing.T, c *common, e env, sf serveFlags, id, branch, before, after, cloneURL string) {
	t.Helper()
	url, stop := startServe(t, c, e, sf)
	status, queued := postDelivery(t, url, "push", id, map[string]any{"ref": "refs/heads/" + branch, "before": before, "after": after,
		"repository": map[string]any{"full_name": "acme/config", "clone_url": cloneURL, "default_branch": "main"}})
	if status != http.StatusAccepted || !queued {
		t.Fatalf("delivery %s: %d queued=%v", id, status, queued)
	}
	stop()
}

// TestServeConfigPushPublishes: a push to the config repo's default branch, with --gitops-repo,
// republishes what the config change affects (a config-only publish, at the code commit the
// service last published); without --gitops-repo nothing is published.
func TestServeConfigPushPublishes(t *testing.T) {
	gitRoot := t.TempDir()
	srv, err := gitserver.Start(gitRoot, gitserver.Options{Token: "ghs_T0KEN"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	code := gitfixture.Bare(t, gitRoot, "acme/user", map[string]map[string]string{"main": {"CacRegion_app.ini": "host=^cac<<db.ip>>\n"}}, "main")
	services := "services:\n  user: {repo: " + srv.RepoURL("acme/user.git") + "}\n"
	cfg := gitfixture.Bare(t, gitRoot, "cfg", map[string]map[string]string{"main": {"_services.yaml": services, "user/sg.yaml": "db: {ip: 10.0.0.1}\n"}}, "main")
	gitopsRepo := gitfixture.Bare(t, gitRoot, "gitops", map[string]map[string]string{"main": {"README.md": "GitOps\n"}}, "main")
	vars := map[string]string{"CAC_WEBHOOK_SECRET": "hook-secret", "GITHUB_TOKEN": "ghs_T0KEN"}
	getenv := func(k string) string { return vars[k] }

	// user was published from its code's first commit
	repo, err := git.PlainOpen(code)
	if err != nil {
		t.Fatal(err)
	}
	head, err := repo.Head()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := gitremote.WriteCommit(repo, head.Hash().String(), dir); err != nil {
		t.Fatal(err)
	}
	if _, err := publish.Run(context.Background(), publish.Options{CodeDir: dir, CodeCommit: head.Hash().String(), USN: "user", Branch: "main",
		NoWrite: true, ConfigRepo: srv.RepoURL("cfg"), Getenv: getenv, Stderr: &bytes.Buffer{}, GitOps: gitops.Options{RepoURL: srv.RepoURL("gitops")}}); err != nil {
		t.Fatal(err)
	}
	published := gitfixture.Tip(t, gitopsRepo)

	before := gitfixture.Tip(t, cfg)
	after := gitfixture.Commit(t, cfg, "main", map[string]string{"_services.yaml": services, "user/sg.yaml": "db: {ip: 10.0.0.9}\n"}, "move the db").String()
	var stderr bytes.Buffer
	e := env{stdout: &bytes.Buffer{}, stderr: &stderr, getenv: getenv}
	c := &common{configRepo: srv.RepoURL("cfg"), standard: filepath.Join(t.TempDir(), "std.yaml")}
	if err := os.WriteFile(c.standard, []byte("$any: true\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	deliverPush(t, c, e, serveFlags{maxParts: 10}, "p1", "main", before.Hash.String(), after, srv.RepoURL("cfg.git"))
	if tip := gitfixture.Tip(t, gitopsRepo); tip.Hash != published.Hash {
		t.Fatalf("without --gitops-repo the GitOps repo moved to %s", tip.Hash)
	}
	if !strings.Contains(stderr.String(), "config-only publish skipped: no --gitops-repo") {
		t.Errorf("cac serve's log does not say the publish was skipped:\n%s", stderr.String())
	}

	deliverPush(t, c, e, serveFlags{maxParts: 10, gitopsRepo: srv.RepoURL("gitops")}, "p2", "main", before.Hash.String(), after, srv.RepoURL("cfg.git"))
	tip := gitfixture.Tip(t, gitopsRepo)
	if tip.Hash == published.Hash || !strings.Contains(tip.Message, "Cac-Config-Only: true") || !strings.Contains(tip.Message, "Cac-Code-Commit: "+head.Hash().String()) {
		t.Fatalf("the config-only publish made no commit, or not one naming the published code commit:\n%s\ncac serve's log:\n%s", tip.Message, stderr.String())
	}
	f, err := tip.File("envs/sg/user/cac-config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if cm, _ := f.Contents(); !strings.Contains(cm, "host=10.0.0.9") {
		t.Errorf("the republished ConfigMap does not hold the new value:\n%s", cm)
	}
	if strings.Contains(stderr.String(), "ghs_T0KEN") {
		t.Error("the token is in cac serve's log")
	}
}

// postDelivery POSTs a GitHub webhook delivery of event with payload to the server at url, signed
// with the webhook secret "hook-secret"; it returns the answer's status and whether it was queued.
func postDelivery(t *testing.T, url, event, id string, payload any) (int, bool) {
	t.Helper()
	body, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	mac := hmac.New(sha256.New, []byte("hook-secret"))
	mac.Write(body)
	req, _ := http.NewRequest("POST", url+"/webhook", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", event)
	req.Header.Set("X-GitHub-Delivery", id)
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a struct{ Queued bool }
	json.NewDecoder(resp.Body).Decode(&a)
	return resp.StatusCode, a.Queued
}

// startServe runs cac serve's webhook handler (settings c, environment e, flags sf) on a test
// server; stop waits for the runs it queued, then closes it.
func startServe(t *testing.T, c *common, e env, sf serveFlags) (url string, stop func()) {
	t.Helper()
	s, err := newServeServer(context.Background(), newRoot(e), c, e, sf)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(hs.Close)
	return hs.URL, func() {
		t.Helper()
		if err := s.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		hs.Close()
	}
}
