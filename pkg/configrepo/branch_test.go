package configrepo

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// codeRepo makes a work-tree repository with one commit on branch; it returns the repo and commit.
func codeRepo(t *testing.T, branch string) (string, *git.Repository, plumbing.Hash) {
	t.Helper()
	dir := t.TempDir()
	repo, err := git.PlainInit(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	head := plumbing.NewSymbolicReference(plumbing.HEAD, plumbing.NewBranchReferenceName(branch))
	if err := repo.Storer.SetReference(head); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "conf"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "conf", "CacRegion_app.toml"), []byte("a = 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wt.Add("conf/CacRegion_app.toml"); err != nil {
		t.Fatal(err)
	}
	sig := &object.Signature{Name: "t", Email: "t@example.com", When: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	h, err := wt.Commit("first", &git.CommitOptions{Author: sig})
	if err != nil {
		t.Fatal(err)
	}
	return dir, repo, h
}

func TestResolveBranch(t *testing.T) {
	code, _, _ := codeRepo(t, "feature/login")
	sub := filepath.Join(code, "conf")
	notGit := t.TempDir()
	all := env("GITHUB_HEAD_REF", "pr-head", "GITHUB_REF_NAME", "ref-name",
		"CI_MERGE_REQUEST_SOURCE_BRANCH_NAME", "mr-source", "CI_COMMIT_REF_NAME", "commit-ref")
	for _, tc := range []struct {
		name, flag   string
		getenv       func(string) string
		dir          string
		branch, from string
	}{
		{"flag wins", "release-1", all, code, "release-1", "--branch"},
		{"github pull request", "", all, code, "pr-head", "GITHUB_HEAD_REF"},
		{"github push", "", env("GITHUB_HEAD_REF", "", "GITHUB_REF_NAME", "ref-name", "CI_COMMIT_REF_NAME", "x"), code, "ref-name", "GITHUB_REF_NAME"},
		{"gitlab merge request", "", env("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME", "mr-source", "CI_COMMIT_REF_NAME", "x"), code, "mr-source", "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME"},
		{"gitlab pipeline", "", env("CI_COMMIT_REF_NAME", "commit-ref"), code, "commit-ref", "CI_COMMIT_REF_NAME"},
		{"checked-out branch", "", env(), code, "feature/login", "git checkout"},
		{"from a subdirectory", "", nil, sub, "feature/login", "git checkout"},
		{"not a git repo", "", env(), notGit, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, from, err := ResolveBranch(tc.flag, tc.getenv, tc.dir)
			if err != nil || b != tc.branch || from != tc.from {
				t.Errorf("ResolveBranch = %q, %q, %v; want %q, %q", b, from, err, tc.branch, tc.from)
			}
		})
	}
}

func TestResolveBranchDetached(t *testing.T) {
	code, repo, h := codeRepo(t, "main")
	if err := repo.Storer.SetReference(plumbing.NewHashReference(plumbing.HEAD, h)); err != nil {
		t.Fatal(err)
	}
	if b, from, err := ResolveBranch("", env(), code); b != "" || from != "" || err != nil {
		t.Errorf("detached HEAD: %q, %q, %v; want nothing", b, from, err)
	}
	if got, err := HeadCommit(code); got != h.String() || err != nil {
		t.Errorf("HeadCommit detached = %q, %v; want %s", got, err, h)
	}
}

func TestHeadCommit(t *testing.T) {
	code, _, h := codeRepo(t, "main")
	for _, dir := range []string{code, filepath.Join(code, "conf")} {
		if got, err := HeadCommit(dir); got != h.String() || err != nil {
			t.Errorf("HeadCommit(%s) = %q, %v; want %s", dir, got, err, h)
		}
	}
	if got, err := HeadCommit(t.TempDir()); got != "" || err != nil {
		t.Errorf("not a git repo: %q, %v", got, err)
	}
	empty := t.TempDir()
	if _, err := git.PlainInit(empty, false); err != nil {
		t.Fatal(err)
	}
	if got, err := HeadCommit(empty); got != "" || err != nil {
		t.Errorf("repo without commits: %q, %v", got, err)
	}
}
