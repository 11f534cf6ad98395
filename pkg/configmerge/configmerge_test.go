package configmerge

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/cacproj/cac/internal/gitfixture"
	"github.com/cacproj/cac/internal/gitserver"
	"github.com/cacproj/cac/pkg/gitremote"
)

const baseYAML = "replicas: 2\nimage: app:1\nport: 8080\nlog: info\ntimeout: 30\n"

// fixture is a config repo served over smart HTTP: main holds baseYAML in user/sg.yaml, and the
// branch feature-x starts at main's commit.
type fixture struct {
	t    *testing.T
	bare string
	srv  *gitserver.Server
	url  string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	root := t.TempDir()
	bare := gitfixture.Bare(t, root, "config", map[string]map[string]string{"main": {"user/sg.yaml": baseYAML, "user/us.yaml": "a: 1\n"}}, "main")
	srv, err := gitserver.Start(root, gitserver.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	f := &fixture{t: t, bare: bare, srv: srv, url: srv.RepoURL("config.git")}
	f.branch("feature-x", "main")
	return f
}

// branch makes branch start at from's tip.
func (f *fixture) branch(branch, from string) {
	f.t.Helper()
	repo := f.open()
	ref, err := repo.Reference(plumbing.NewBranchReferenceName(from), false)
	if err != nil {
		f.t.Fatal(err)
	}
	if err := repo.Storer.SetReference(plumbing.NewHashReference(plumbing.NewBranchReferenceName(branch), ref.Hash())); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) open() *git.Repository {
	f.t.Helper()
	repo, err := git.PlainOpen(f.bare)
	if err != nil {
		f.t.Fatal(err)
	}
	return repo
}

func (f *fixture) commit(branch, file, content string) plumbing.Hash {
	f.t.Helper()
	return gitfixture.Commit(f.t, f.bare, branch, map[string]string{file: content}, "edit "+file+" on "+branch)
}

// tip is branch's commit on the server, nil when the branch does not exist.
func (f *fixture) tip(branch string) *object.Commit {
	f.t.Helper()
	repo := f.open()
	ref, err := repo.Reference(plumbing.NewBranchReferenceName(branch), false)
	if err != nil {
		return nil
	}
	c, err := repo.CommitObject(ref.Hash())
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

func (f *fixture) file(c *object.Commit, path string) string {
	f.t.Helper()
	file, err := c.File(path)
	if err != nil {
		f.t.Fatalf("%s in %s: %v", path, c.Hash, err)
	}
	s, err := file.Contents()
	if err != nil {
		f.t.Fatal(err)
	}
	return s
}

func (f *fixture) merge(url string, o Options) (*Result, error) {
	f.t.Helper()
	rem, err := gitremote.Open(gitremote.ConfigRepo, url, gitremote.Options{Getenv: func(string) string { return "" },
		Policy: gitremote.Policy{Backoff: time.Millisecond}})
	if err != nil {
		f.t.Fatal(err)
	}
	o.Remote = rem
	if o.Branch == "" {
		o.Branch = "feature-x"
	}
	o.Now = func() time.Time { return time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC) }
	return Merge(context.Background(), o)
}

func TestFastForward(t *testing.T) {
	f := newFixture(t)
	head := f.commit("feature-x", "user/sg.yaml", strings.Replace(baseYAML, "replicas: 2", "replicas: 3", 1))
	old := f.tip("main").Hash
	res, err := f.merge(f.url, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != FastForward || res.Commit != head.String() || res.DefaultCommit != old.String() || res.Deleted {
		t.Errorf("result %+v, want a fast-forward to %s", res, head)
	}
	if got := f.tip("main").Hash; got != head {
		t.Errorf("main is at %s, want the branch tip %s", got, head)
	}
	if f.tip("feature-x") == nil {
		t.Error("the branch was deleted without --delete-branch")
	}
	want := "merged config branch feature-x into main: fast-forward " + old.String()[:7] + ".." + head.String()[:7]
	if got := res.Summary(); got != want {
		t.Errorf("summary %q, want %q", got, want)
	}
}

func TestMergeCommitNonOverlapping(t *testing.T) {
	f := newFixture(t)
	theirs := f.commit("feature-x", "user/sg.yaml", strings.Replace(baseYAML, "timeout: 30", "timeout: 60", 1))
	f.commit("feature-x", "user/eu.yaml", "a: 2\n")
	theirs = f.tip("feature-x").Hash
	ours := f.commit("main", "user/sg.yaml", strings.Replace(baseYAML, "replicas: 2", "replicas: 5", 1))
	res, err := f.merge(f.url, Options{CodeCommit: "c0ffee", PipelineURL: "https://ci.example.com/p/9"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != MergeCommit || len(res.Conflicts) != 0 {
		t.Fatalf("result %+v, want a merge commit", res)
	}
	m := f.tip("main")
	if m.Hash.String() != res.Commit {
		t.Errorf("main is at %s, the result says %s", m.Hash, res.Commit)
	}
	if len(m.ParentHashes) != 2 || m.ParentHashes[0] != ours || m.ParentHashes[1] != theirs {
		t.Errorf("parents %v, want [%s %s]", m.ParentHashes, ours, theirs)
	}
	wantMsg := "Merge config branch 'feature-x' (" + theirs.String()[:7] + ") into main (" + ours.String()[:7] + ")\n\n" +
		"Cac-Code-Commit: c0ffee\nCac-Pipeline: https://ci.example.com/p/9\n"
	if m.Message != wantMsg {
		t.Errorf("message %q, want %q", m.Message, wantMsg)
	}
	want := strings.NewReplacer("replicas: 2", "replicas: 5", "timeout: 30", "timeout: 60").Replace(baseYAML)
	if got := f.file(m, "user/sg.yaml"); got != want {
		t.Errorf("merged user/sg.yaml:\n%s\nwant:\n%s", got, want)
	}
	if got := f.file(m, "user/eu.yaml"); got != "a: 2\n" {
		t.Errorf("user/eu.yaml added on the branch: %q", got)
	}
	if got := f.file(m, "user/us.yaml"); got != "a: 1\n" {
		t.Errorf("user/us.yaml untouched: %q", got)
	}
}

func TestConflictPushesNothing(t *testing.T) {
	f := newFixture(t)
	f.commit("feature-x", "user/sg.yaml", strings.Replace(baseYAML, "image: app:1", "image: app:2", 1))
	theirs := f.commit("feature-x", "user/us.yaml", "a: 3\n")
	ours := f.commit("main", "user/sg.yaml", strings.Replace(baseYAML, "image: app:1", "image: app:9", 1))
	f.commit("main", "user/us.yaml", "a: 4\n")
	ours = f.tip("main").Hash
	res, err := f.merge(f.url, Options{DeleteBranch: true})
	if err != nil {
		t.Fatal(err)
	}
	want := []Conflict{
		{Path: "user/sg.yaml", Kind: ContentConflict, Regions: []Region{{Base: Range{2, 2}, Ours: Range{2, 2}, Theirs: Range{2, 2}}}},
		{Path: "user/us.yaml", Kind: ContentConflict, Regions: []Region{{Base: Range{1, 1}, Ours: Range{1, 1}, Theirs: Range{1, 1}}}},
	}
	if res.Outcome != Conflicted || res.Commit != "" || res.Deleted || len(res.Conflicts) != 2 ||
		res.Conflicts[0].Describe("main", "feature-x") != want[0].Describe("main", "feature-x") || res.Conflicts[1].Path != want[1].Path {
		t.Errorf("result %+v, want conflicts %+v", res, want)
	}
	if got := f.tip("main").Hash; got != ours {
		t.Errorf("main moved to %s after a conflict, want it still at %s", got, ours)
	}
	if got := f.tip("feature-x"); got == nil || got.Hash != theirs {
		t.Error("the branch was deleted after a conflict")
	}
	if got := res.Conflicts[0].Describe("main", "feature-x"); got != "user/sg.yaml: content at line 2 in main, line 2 in feature-x" {
		t.Errorf("describe: %q", got)
	}
}

func TestNothingToMerge(t *testing.T) {
	f := newFixture(t)
	old := f.tip("main").Hash
	res, err := f.merge(f.url, Options{Branch: "no-such-branch", DeleteBranch: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != NothingToMerge || f.tip("main").Hash != old {
		t.Errorf("result %+v, main %s; want nothing to merge, main at %s", res, f.tip("main").Hash, old)
	}
}

func TestAlreadyMerged(t *testing.T) {
	f := newFixture(t)
	f.commit("main", "user/sg.yaml", "replicas: 9\n") // feature-x is main's parent now
	old := f.tip("main").Hash
	res, err := f.merge(f.url, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != AlreadyMerged || f.tip("main").Hash != old || f.tip("feature-x") == nil {
		t.Errorf("result %+v; want already merged, nothing pushed", res)
	}
	// With --delete-branch the merged branch goes.
	res, err = f.merge(f.url, Options{DeleteBranch: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != AlreadyMerged || !res.Deleted || f.tip("feature-x") != nil || f.tip("main").Hash != old {
		t.Errorf("result %+v; want already merged and the branch deleted", res)
	}
}

func TestDeleteBranch(t *testing.T) {
	f := newFixture(t)
	f.commit("feature-x", "user/sg.yaml", strings.Replace(baseYAML, "log: info", "log: debug", 1))
	f.commit("main", "user/us.yaml", "a: 5\n")
	res, err := f.merge(f.url, Options{DeleteBranch: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != MergeCommit || !res.Deleted || f.tip("feature-x") != nil {
		t.Fatalf("result %+v; want a merge commit and the branch deleted", res)
	}
	m := f.tip("main")
	if m.Hash.String() != res.Commit || f.file(m, "user/us.yaml") != "a: 5\n" || !strings.Contains(f.file(m, "user/sg.yaml"), "log: debug") {
		t.Errorf("main %s does not hold both changes", m.Hash)
	}
}

func TestDryRun(t *testing.T) {
	f := newFixture(t)
	f.commit("feature-x", "user/sg.yaml", strings.Replace(baseYAML, "log: info", "log: debug", 1))
	f.commit("main", "user/us.yaml", "a: 5\n")
	old := f.tip("main").Hash
	res, err := f.merge(f.url, Options{DryRun: true, DeleteBranch: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != MergeCommit || res.Deleted || f.tip("main").Hash != old || f.tip("feature-x") == nil {
		t.Errorf("dry run %+v changed the remote", res)
	}
	if got := res.Summary(); !strings.HasPrefix(got, "dry run: would merge config branch feature-x") {
		t.Errorf("summary %q", got)
	}
}

// TestDefaultBranchMovesBeforePush: another push lands on main between the merge's read and its
// push; the server refuses the push (the lease no longer holds) and the merge is redone on the new tip.
func TestDefaultBranchMovesBeforePush(t *testing.T) {
	f := newFixture(t)
	theirs := f.commit("feature-x", "user/sg.yaml", strings.Replace(baseYAML, "log: info", "log: debug", 1))
	var once sync.Once
	var concurrent plumbing.Hash
	target, _ := url.Parse(f.srv.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/git-receive-pack") {
			once.Do(func() { concurrent = f.commit("main", "user/us.yaml", "a: 7\n") })
		}
		proxy.ServeHTTP(w, r)
	}))
	res, err := f.merge(srv+"/config.git", Options{})
	if err != nil {
		t.Fatal(err)
	}
	m := f.tip("main")
	if res.Attempts != 2 || res.Outcome != MergeCommit || m.Hash.String() != res.Commit {
		t.Fatalf("result %+v, main %s; want a merge commit on the second attempt", res, m.Hash)
	}
	if len(m.ParentHashes) != 2 || m.ParentHashes[0] != concurrent || m.ParentHashes[1] != theirs {
		t.Errorf("parents %v, want the concurrent commit %s and the branch %s", m.ParentHashes, concurrent, theirs)
	}
	if f.file(m, "user/us.yaml") != "a: 7\n" || !strings.Contains(f.file(m, "user/sg.yaml"), "log: debug") {
		t.Error("the merge lost the concurrent change or the branch's")
	}
}

func httptestServer(t *testing.T, h http.Handler) string {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}
