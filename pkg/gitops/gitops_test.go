package gitops

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/cacproj/cac/internal/gitserver"
	"github.com/cacproj/cac/pkg/argocd"
	"github.com/cacproj/cac/pkg/cacerr"
	"github.com/cacproj/cac/pkg/pipeline"
)

var update = flag.Bool("update", false, "rewrite golden files")

const testToken = "push-token"

func runGit(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "GIT_CONFIG_NOSYSTEM=1", "HOME="+dir,
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// gitopsRepo is a bare GitOps repo behind a real smart-HTTP git server.
type gitopsRepo struct {
	srv  *gitserver.Server
	bare string
	url  string
}

// newGitopsRepo creates a bare repo whose main branch holds files (nil: an empty repo).
func newGitopsRepo(t testing.TB, files map[string]string) *gitopsRepo {
	t.Helper()
	root := t.TempDir()
	bare := filepath.Join(root, "gitops.git")
	if files == nil {
		runGit(t, root, "init", "-q", "--bare", "-b", "main", bare)
	} else {
		work := t.TempDir()
		runGit(t, work, "init", "-q", "-b", "main")
		for p, c := range files {
			writeFile(t, filepath.Join(work, p), c)
		}
		runGit(t, work, "add", "-A")
		runGit(t, work, "commit", "-qm", "seed")
		runGit(t, root, "clone", "-q", "--bare", work, bare)
	}
	s, err := gitserver.Start(root, gitserver.Options{Token: testToken})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return &gitopsRepo{srv: s, bare: bare, url: s.RepoURL("gitops.git")}
}

// tree returns every file at the tip of main.
func (g *gitopsRepo) tree(t testing.TB) map[string]string {
	t.Helper()
	repo, err := git.PlainOpen(g.bare)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := repo.Reference(plumbing.NewBranchReferenceName("main"), true)
	if err != nil {
		t.Fatal(err)
	}
	c, err := repo.CommitObject(ref.Hash())
	if err != nil {
		t.Fatal(err)
	}
	files, err := c.Files()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	err = files.ForEach(func(f *object.File) error {
		s, err := f.Contents()
		out[f.Name] = s
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (g *gitopsRepo) commits(t testing.TB) int {
	t.Helper()
	n := 0
	fmt.Sscan(runGit(t, g.bare, "rev-list", "--count", "main"), &n)
	return n
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// buildOutput is a `cac build` output: files per region (paths relative to the region).
func buildOutput(t testing.TB, files map[string]map[string]string) *pipeline.Output {
	t.Helper()
	tree := pipeline.Tree{}
	for r, fs := range files {
		for p, c := range fs {
			tree.Add(r, p, pipeline.File{Data: []byte(c), Mode: 0o644})
		}
	}
	return &pipeline.Output{Tree: tree, Report: &pipeline.Report{Outcome: pipeline.OutcomeSuccess,
		CodeCommit: "c0ffee0123456789", ConfigCommit: "abcdef0123456789", Regions: tree.Regions(), Files: tree.FileReports()}}
}

func serviceFiles(usn, version string) map[string]string {
	return map[string]string{
		"deploy/deployment.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: " + usn + "\n  labels:\n    version: \"" + version + "\"\n",
		"conf/app.toml":          "name = \"" + usn + "\"\nversion = \"" + version + "\"\n",
	}
}

// options publishes out as usn's build output.
func (g *gitopsRepo) options(usn string, out *pipeline.Output) Options {
	out.Report.USN = usn
	return Options{RepoURL: g.url, Token: testToken, USN: usn, Output: out, Retries: 100, Backoff: 5 * time.Millisecond,
		PipelineURL: "https://ci.example.com/p/1"}
}

func TestPublishIdempotentAndPrune(t *testing.T) {
	other := map[string]string{
		"envs/sg-prod/other/kustomization.yaml": "resources: []\n",
		"envs/sg-prod/otherx/a.yaml":            "a: 1\n",
		"README.md":                             "gitops\n",
	}
	g := newGitopsRepo(t, other)
	files := serviceFiles("user", "1")
	files["conf/extra.ini"] = "x=1\n"
	out := buildOutput(t, map[string]map[string]string{"sg-prod": files, "us-prod": serviceFiles("user", "1")})
	o := g.options("user", out)

	res, err := Publish(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if res.UpToDate || res.Commit == "" || res.Branch != "main" {
		t.Fatalf("first publish: %+v", res)
	}
	tree := g.tree(t)
	for p, c := range other {
		if tree[p] != c {
			t.Errorf("other service's %s changed: %q", p, tree[p])
		}
	}
	for _, p := range []string{"envs/sg-prod/user/deploy/deployment.yaml", "envs/sg-prod/user/cac-config.yaml",
		"envs/sg-prod/user/kustomization.yaml", "envs/us-prod/user/cac-config.yaml"} {
		if _, ok := tree[p]; !ok {
			t.Errorf("missing %s", p)
		}
	}
	if !strings.Contains(tree["envs/sg-prod/user/cac-config.yaml"], "conf__extra.ini: |") {
		t.Errorf("ConfigMap lacks conf__extra.ini:\n%s", tree["envs/sg-prod/user/cac-config.yaml"])
	}
	msg := runGit(t, g.bare, "log", "-1", "--format=%B", "main")
	for _, want := range []string{"user", "c0ffee0", "Cac-Code-Commit: c0ffee0123456789", "Cac-Config-Commit: abcdef0123456789", "Cac-Pipeline: https://ci.example.com/p/1"} {
		if !strings.Contains(msg, want) {
			t.Errorf("commit message lacks %q:\n%s", want, msg)
		}
	}

	n := g.commits(t)
	res, err = Publish(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if !res.UpToDate || res.Commit != "" || len(res.Changes) != 0 {
		t.Fatalf("second publish: %+v", res)
	}
	if g.commits(t) != n {
		t.Fatalf("up-to-date publish made a commit")
	}

	// conf/extra.ini is no longer rendered: it leaves the ConfigMap; a stale file in our dir goes too.
	delete(out.Tree["sg-prod"], "conf/extra.ini")
	delete(out.Tree["sg-prod"], "deploy/deployment.yaml")
	out.Tree.Add("sg-prod", "deploy/service.yaml", pipeline.File{Data: []byte("apiVersion: v1\nkind: Service\nmetadata:\n  name: user\n"), Mode: 0o644})
	res, err = Publish(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	tree = g.tree(t)
	if _, ok := tree["envs/sg-prod/user/deploy/deployment.yaml"]; ok {
		t.Error("pruned manifest still present")
	}
	if strings.Contains(tree["envs/sg-prod/user/cac-config.yaml"], "extra") {
		t.Error("pruned config file still in the ConfigMap")
	}
	if !strings.Contains(tree["envs/sg-prod/user/kustomization.yaml"], "deploy/service.yaml") {
		t.Errorf("kustomization:\n%s", tree["envs/sg-prod/user/kustomization.yaml"])
	}
	for p, c := range other {
		if tree[p] != c {
			t.Errorf("other service's %s changed", p)
		}
	}
	want := []FileChange{{"envs/sg-prod/user/cac-config.yaml", "modify"}, {"envs/sg-prod/user/deploy/deployment.yaml", "delete"},
		{"envs/sg-prod/user/deploy/service.yaml", "add"}, {"envs/sg-prod/user/kustomization.yaml", "modify"}}
	if fmt.Sprint(res.Changes) != fmt.Sprint(want) {
		t.Errorf("changes = %v, want %v", res.Changes, want)
	}
}

func TestPublishNoPruneKeepsStaleFiles(t *testing.T) {
	g := newGitopsRepo(t, map[string]string{"envs/eu/user/deploy/old.yaml": "old: 1\n"})
	out := buildOutput(t, map[string]map[string]string{"eu": serviceFiles("user", "1")})
	o := g.options("user", out)
	o.NoPrune = true
	if _, err := Publish(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	if g.tree(t)["envs/eu/user/deploy/old.yaml"] != "old: 1\n" {
		t.Fatal("NoPrune removed a stale file")
	}
}

func TestPublishEmptyRepoAndDefaultBranch(t *testing.T) {
	g := newGitopsRepo(t, nil)
	out := buildOutput(t, map[string]map[string]string{"eu": serviceFiles("user", "1")})
	res, err := Publish(context.Background(), g.options("user", out))
	if err != nil {
		t.Fatal(err)
	}
	if res.Branch != "main" || g.tree(t)["envs/eu/user/deploy/deployment.yaml"] == "" {
		t.Fatalf("%+v %v", res, g.tree(t))
	}
}

func TestPublishConcurrent(t *testing.T) {
	t.Run("in memory", func(t *testing.T) { testPublishConcurrent(t, "") })
	// Every publisher shares one cache directory, as pipelines on one runner do.
	t.Run("shared cache", func(t *testing.T) { testPublishConcurrent(t, t.TempDir()) })
}

func testPublishConcurrent(t *testing.T, cache string) {
	g := newGitopsRepo(t, map[string]string{"README.md": "x\n"})
	const publishers, rounds = 16, 3
	var wg sync.WaitGroup
	errs := make(chan error, publishers*rounds)
	for i := range publishers {
		usn := fmt.Sprintf("svc%02d", i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := 1; r <= rounds; r++ {
				out := buildOutput(t, map[string]map[string]string{"eu": serviceFiles(usn, fmt.Sprint(r)), "us": serviceFiles(usn, fmt.Sprint(r))})
				o := g.options(usn, out)
				o.Cache = cache
				res, err := Publish(context.Background(), o)
				if err != nil {
					errs <- fmt.Errorf("%s round %d: %w", usn, r, err)
					return
				}
				if res.UpToDate {
					errs <- fmt.Errorf("%s round %d: up to date", usn, r)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// Every publish is one commit on main: none was lost or overwritten.
	if n := g.commits(t); n != 1+publishers*rounds {
		t.Errorf("commits = %d, want %d", n, 1+publishers*rounds)
	}
	for i := range publishers {
		usn := fmt.Sprintf("svc%02d", i)
		for r := 1; r <= rounds; r++ {
			if out := runGit(t, g.bare, "log", "--format=%s", "--grep", "^cac publish "+usn+" ", "main"); strings.Count(out, "\n") != rounds {
				t.Errorf("%s: commits %q", usn, out)
				break
			}
		}
	}
	// The final tree is exactly the union of every service's last round.
	got := g.tree(t)
	want := map[string]string{"README.md": "x\n"}
	for i := range publishers {
		usn := fmt.Sprintf("svc%02d", i)
		for _, region := range []string{"eu", "us"} {
			p, err := planRegion(buildOutput(t, map[string]map[string]string{region: serviceFiles(usn, fmt.Sprint(rounds))}).Tree, region, usn, "deploy", nil)
			if err != nil {
				t.Fatal(err)
			}
			for name, c := range p.files {
				want["envs/"+region+"/"+usn+"/"+name] = string(c)
			}
			app, err := argocd.Options{}.Render(usn, region, "envs/"+region+"/"+usn, g.url, "main")
			if err != nil {
				t.Fatal(err)
			}
			want["argocd/"+region+"/"+usn+".yaml"] = string(app)
			src := "envs/" + region + "/" + usn + "/" + SourceFile
			if s, err := ParseSource(src, []byte(got[src])); err != nil || s.USN != usn || s.Region != region {
				t.Errorf("%s: %+v %v", src, s, err)
			}
			want[src] = got[src]
		}
	}
	if len(got) != len(want) {
		t.Errorf("tree has %d files, want %d", len(got), len(want))
	}
	for p, c := range want {
		if got[p] != c {
			t.Errorf("%s = %q, want %q", p, got[p], c)
		}
	}
}

func TestPublishCancelledLeavesRemoteConsistent(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault gitserver.Fault
	}{
		{"before receive-pack", gitserver.Fault{Delay: 3 * time.Second}},
		{"response cut", gitserver.Fault{CutAfter: 10}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newGitopsRepo(t, map[string]string{"README.md": "x\n"})
			before := g.tree(t)
			out := buildOutput(t, map[string]map[string]string{"eu": serviceFiles("user", "1"), "us": serviceFiles("user", "1")})
			// Requests: clone info/refs, upload-pack, push info/refs, receive-pack (the 4th gets the fault).
			g.srv.Inject(gitserver.Fault{}, gitserver.Fault{}, gitserver.Fault{}, tc.fault)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go func() {
				for g.srv.Requests() < 4 {
					time.Sleep(time.Millisecond)
				}
				cancel()
			}()
			o := g.options("user", out)
			_, err := Publish(ctx, o)
			if err == nil || !cacerr.Is(err, cacerr.KindRemote) {
				t.Fatalf("err = %v, want a remote error", err)
			}
			runGit(t, g.bare, "fsck", "--strict")
			after := g.tree(t)
			if len(after) != len(before) && len(after) != len(before)+10 {
				t.Fatalf("partial commit: %d files before, %d after", len(before), len(after))
			}
			// A later publish completes the change.
			if _, err := Publish(context.Background(), o); err != nil {
				t.Fatal(err)
			}
			if len(g.tree(t)) != len(before)+10 {
				t.Fatalf("tree after retry: %v", g.tree(t))
			}
		})
	}
}

func TestPublishDryRun(t *testing.T) {
	g := newGitopsRepo(t, map[string]string{"envs/eu/user/deploy/old.yaml": "old: 1\n"})
	out := buildOutput(t, map[string]map[string]string{"eu": serviceFiles("user", "1")})
	o := g.options("user", out)
	o.DryRun = true
	o.Argo.RepoURL = "https://ci-bot:s3cret@git.example.com/platform/gitops.git" // the golden file shows it without credentials
	n := g.commits(t)
	res, err := Publish(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Commit != "" || res.UpToDate || g.commits(t) != n {
		t.Fatalf("dry run committed: %+v", res)
	}
	golden(t, res.Diff)
}

func golden(t *testing.T, got string) {
	t.Helper()
	path := filepath.Join("testdata", t.Name()+".golden")
	if *update {
		writeFile(t, path, got)
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (go test -update):\n%s", path, got)
	}
}

type fakePR struct {
	head, base, title, body string
}

func (f *fakePR) OpenPullRequest(_ context.Context, head, base, title, body string) (string, error) {
	f.head, f.base, f.title, f.body = head, base, title, body
	return "https://forge.example.com/pr/1", nil
}

var _ PROpener = (*fakePR)(nil)

func TestPublishOpenPR(t *testing.T) {
	g := newGitopsRepo(t, map[string]string{"README.md": "x\n"})
	out := buildOutput(t, map[string]map[string]string{"eu": serviceFiles("user", "1")})
	pr := &fakePR{}
	o := g.options("user", out)
	o.PR = pr
	res, err := Publish(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if res.PRURL != "https://forge.example.com/pr/1" || res.Branch != "cac/user/"+res.Commit[:7] {
		t.Fatalf("%+v", res)
	}
	if pr.head != res.Branch || pr.base != "main" || !strings.Contains(pr.title, "user") || !strings.Contains(pr.body, "Cac-Pipeline:") {
		t.Fatalf("PR opened with %+v", pr)
	}
	if len(g.tree(t)) != 1 {
		t.Fatal("main changed; the change belongs on the PR branch")
	}
	if got := strings.TrimSpace(runGit(t, g.bare, "rev-parse", res.Branch)); got != res.Commit {
		t.Fatalf("PR branch at %s, want %s", got, res.Commit)
	}
}

func TestPublishErrors(t *testing.T) {
	g := newGitopsRepo(t, map[string]string{"README.md": "x\n"})
	big := strings.Repeat("x", 600<<10)
	for _, tc := range []struct {
		name  string
		files map[string]string
		edit  func(*Options)
		kind  cacerr.Kind
		want  string
	}{
		{"configmap over 1 MiB", map[string]string{"a.txt": big, "b.txt": big}, nil, cacerr.KindUsage, "over Kubernetes' limit"},
		{"bad key", map[string]string{"conf/a b.txt": "x"}, nil, cacerr.KindUsage, "cannot be a ConfigMap key"},
		{"wrong token", serviceFiles("user", "1"), func(o *Options) { o.Token = "nope" }, cacerr.KindRemote, "authentication"},
		{"missing branch", serviceFiles("user", "1"), func(o *Options) { o.Branch = "nope" }, cacerr.KindUsage, "no branch nope"},
		{"secret in manifest", map[string]string{"deploy/d.yaml": "password: hunter2-secret\n"},
			func(o *Options) { o.Secrets = map[string][]SecretValue{"eu": {{"db.password", "hunter2-secret"}}} }, cacerr.KindUsage, "manifest deploy/d.yaml contains the secret value of db.password"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := g.options("user", buildOutput(t, map[string]map[string]string{"eu": tc.files}))
			o.Retries = 1
			if tc.edit != nil {
				tc.edit(&o)
			}
			_, err := Publish(context.Background(), o)
			if err == nil || !cacerr.Is(err, tc.kind) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want kind %d containing %q", err, tc.kind, tc.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Fatal("error shows the secret value")
			}
		})
	}
}

// Another service's build output (a shared output dir clobbered by a concurrent build) is refused.
func TestPublishRefusesOtherServicesOutput(t *testing.T) {
	g := newGitopsRepo(t, map[string]string{"README.md": "gitops\n"})
	o := g.options("cart", buildOutput(t, map[string]map[string]string{"eu": serviceFiles("cart", "1")}))
	o.USN = "user"
	_, err := Publish(context.Background(), o)
	if !cacerr.Is(err, cacerr.KindUsage) || !strings.Contains(err.Error(), `is service "cart"'s, not "user"'s`) {
		t.Fatalf("err = %v", err)
	}
	if g.commits(t) != 1 {
		t.Fatal("published another service's output")
	}
}
