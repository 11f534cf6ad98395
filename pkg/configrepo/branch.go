package configrepo

import (
	"errors"
	"fmt"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
)

// BranchVars are the CI variables read, in order, for the code branch (docs/design.md §1).
var BranchVars = []string{"GITHUB_HEAD_REF", "GITHUB_REF_NAME", "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME", "CI_COMMIT_REF_NAME"}

// ResolveBranch finds the code branch in docs/design.md §1's order: flag (--branch), then the first
// non-empty variable of BranchVars read through getenv, then the branch checked out in the git
// repository containing codeDir. It returns the branch and where it came from ("--branch", a
// variable name, or "git checkout"); both are empty when nothing names a branch (codeDir is not in
// a git repository, or its HEAD is detached or unborn). getenv nil means no environment.
func ResolveBranch(flag string, getenv func(string) string, codeDir string) (branch, source string, err error) {
	if flag != "" {
		return flag, "--branch", nil
	}
	if getenv != nil {
		for _, v := range BranchVars {
			if b := getenv(v); b != "" {
				return b, v, nil
			}
		}
	}
	repo, err := openCodeRepo(codeDir)
	if repo == nil || err != nil {
		return "", "", err
	}
	head, err := repo.Storer.Reference(plumbing.HEAD)
	if err != nil {
		return "", "", fmt.Errorf("read HEAD of %s: %w", codeDir, err)
	}
	if head.Type() == plumbing.SymbolicReference && head.Target().IsBranch() {
		return head.Target().Short(), "git checkout", nil
	}
	return "", "", nil
}

// HeadCommit returns the hex commit checked out in the git repository containing dir (the code
// repo's `_cac.commit`); empty when dir is not in a git repository or it has no commit yet.
func HeadCommit(dir string) (string, error) {
	repo, err := openCodeRepo(dir)
	if repo == nil || err != nil {
		return "", err
	}
	head, err := repo.Head()
	if errors.Is(err, plumbing.ErrReferenceNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read HEAD of %s: %w", dir, err)
	}
	return head.Hash().String(), nil
}

// OpenLocal opens the local git repository containing dir (or exactly at dir, when detect is false)
// with its common directory, so that a linked worktree (git worktree add) sees every branch and tag
// of the repository, not only its own HEAD. Every local repository cac reads is opened through it.
func OpenLocal(dir string, detect bool) (*git.Repository, error) {
	return git.PlainOpenWithOptions(dir, &git.PlainOpenOptions{DetectDotGit: detect, EnableDotGitCommonDir: true})
}

// openCodeRepo opens the repository containing dir; nil without error when there is none.
func openCodeRepo(dir string) (*git.Repository, error) {
	repo, err := OpenLocal(dir, true)
	if errors.Is(err, git.ErrRepositoryNotExists) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open code repo %s: %w", dir, err)
	}
	return repo, nil
}
